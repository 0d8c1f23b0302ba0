package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// dockerHelperName is the program name docker runs for the credential helper
// "pixie" (credHelpers in ~/.docker/config.json): pixie installed, or linked,
// under this name behaves as pixie docker-credential.
const dockerHelperName = "docker-credential-pixie"

// errCredentialsNotFound is the answer docker's credential helper client
// recognises as "no credentials for this server"; it must be the whole of
// stdout.
var errCredentialsNotFound = errors.New("credentials not found in native keychain")

// dockerCredential is the credential of docker's helper protocol. A Username
// of "<token>" makes docker take Secret as an identity token.
type dockerCredential struct {
	ServerURL string
	Username  string
	Secret    string
}

func newDockerCredentialCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "docker-credential get|store|erase|list",
		Short: "Give docker the profile's access token (a docker credential helper)",
		Long: `A docker credential helper (the protocol of docker-credential-helpers), also
run as docker-credential-pixie: link that name to pixie and name "pixie" for a
registry in credHelpers of ~/.docker/config.json.

"get" reads the registry's server URL on stdin and answers
{"ServerURL": ..., "Username": "<token>", "Secret": ACCESS_TOKEN} with the
access token of the profile named for the registry's host in the hosts map of
config.yaml (or of --profile), refreshed when needed; a registry no profile is
named for gets "credentials not found in native keychain" and exit code 1.
"list" answers the hosts of the hosts map. "erase" does nothing: pixie keeps
its tokens itself (pixie logout ends them). "store" is refused: pixie keeps
no registry passwords.

Errors are printed on stdout, where docker reads them, and on stderr.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runDockerCredential(cmd.Context(), a, args[0])
			if err != nil && exitCode(err) != ExitUsage {
				fmt.Fprintln(a.stdout, message(err))
			}
			return err
		},
	}
}

// runDockerCredential answers one request of docker's credential helper
// protocol.
func runDockerCredential(ctx context.Context, a *app, op string) error {
	switch op {
	case "get":
		server, err := readServerURL(a.stdin)
		if err != nil {
			return err
		}
		name, err := a.hostProfile(registryHost(server))
		if err != nil {
			return err
		}
		if name == "" {
			return &exitError{code: ExitFailure, err: errCredentialsNotFound}
		}
		tok, err := a.profileToken(ctx, name)
		if err != nil {
			return err
		}
		return writeDockerJSON(a.stdout, dockerCredential{ServerURL: server, Username: "<token>", Secret: tok.AccessToken.Reveal()})
	case "list":
		c, _, err := a.loadConfig()
		if err != nil {
			return err
		}
		list := map[string]string{}
		for host := range c.Hosts {
			list[host] = "<token>"
		}
		return writeDockerJSON(a.stdout, list)
	case "erase":
		_, err := readServerURL(a.stdin)
		return err
	case "store":
		return errors.New("pixie keeps no registry passwords: its tokens come from pixie login, for the profile config.yaml's hosts map names for the registry")
	}
	return usagef("unknown docker credential action %q: want get, store, erase or list", op)
}

// writeDockerJSON writes v as one line of JSON, "<token>" as it is.
func writeDockerJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readServerURL reads the server URL docker writes on stdin.
func readServerURL(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("docker credential request: %w", err)
	}
	server := strings.TrimSpace(string(b))
	if server == "" {
		return "", errors.New("docker credential request: no server URL on stdin")
	}
	return server, nil
}

// registryHost returns the host[:port] of a registry's server URL, which
// docker gives as a URL (https://index.docker.io/v1/) or a bare host
// (registry.example.com:5000).
func registryHost(server string) string {
	if strings.Contains(server, "://") {
		if u, err := url.Parse(server); err == nil {
			return u.Host
		}
	}
	host, _, _ := strings.Cut(server, "/")
	return host
}
