package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/pixieauth/pixie"
)

// outputExecCredential is the output format of pixie token for kubectl: a
// Kubernetes ExecCredential, as client-go's exec credential plugins answer
// (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins).
const outputExecCredential = "exec-credential"

// The client authentication API versions pixie answers in.
const (
	execCredentialV1      = "client.authentication.k8s.io/v1"
	execCredentialV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// execCredential is the ExecCredential object: the one kubectl passes in
// KUBERNETES_EXEC_INFO (spec), and pixie's answer (status).
type execCredential struct {
	Kind       string             `json:"kind"`
	APIVersion string             `json:"apiVersion"`
	Spec       execCredentialSpec `json:"spec"`
	Status     *execStatus        `json:"status,omitempty"`
}

// execCredentialSpec is what kubectl tells the plugin; pixie reads only
// whether the user's terminal is passed through to it.
type execCredentialSpec struct {
	Interactive bool `json:"interactive"`
}

// execStatus is the credential: a bearer token and when it expires (RFC 3339),
// after which kubectl runs the plugin again.
type execStatus struct {
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
	Token               string `json:"token"`
}

// execInfo reads KUBERNETES_EXEC_INFO: the API version to answer in and whether
// kubectl passed its terminal through. Without it (pixie run by hand, or an
// old kubectl), the answer is in v1 and the terminal is pixie's own stdin.
func (a *app) execInfo() (execCredential, error) {
	raw := a.getenv("KUBERNETES_EXEC_INFO")
	if raw == "" {
		f, ok := a.stdin.(*os.File)
		return execCredential{APIVersion: execCredentialV1, Spec: execCredentialSpec{Interactive: ok && a.isTerminal(f)}}, nil
	}
	var info execCredential
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return info, fmt.Errorf("KUBERNETES_EXEC_INFO is not an ExecCredential: %v", err)
	}
	switch info.APIVersion {
	case execCredentialV1, execCredentialV1beta1:
		return info, nil
	}
	return info, fmt.Errorf("KUBERNETES_EXEC_INFO asks for apiVersion %q: set the kubeconfig's exec apiVersion to %s or %s",
		info.APIVersion, execCredentialV1, execCredentialV1beta1)
}

// runExecCredential prints the profile's token as an ExecCredential in the API
// version kubectl asked for. When the profile has no usable token (none
// stored, or its refresh token rejected) and someone can log in (kubectl
// passed its terminal, stderr is a terminal, or a browser can be opened), it
// logs in first, as pixie login --profile NAME would; otherwise it fails with
// exit code 4 and says how to log in, on stderr, which kubectl shows.
func runExecCredential(ctx context.Context, opts *tokenOptions) error {
	info, err := opts.execInfo()
	if err != nil {
		return err
	}
	tok, err := opts.fetch(ctx)
	if err != nil && exitCode(err) == ExitLoginRequired {
		tok, err = opts.loginForExec(ctx, info, err)
	}
	if err != nil {
		return err
	}
	status := &execStatus{Token: tok.AccessToken.Reveal()}
	if !tok.Expiry.IsZero() {
		status.ExpirationTimestamp = tok.Expiry.UTC().Format(time.RFC3339)
	}
	return json.NewEncoder(opts.stdout).Encode(execCredential{
		Kind:       "ExecCredential",
		APIVersion: info.APIVersion,
		Spec:       info.Spec,
		Status:     status,
	})
}

// loginForExec logs in to the selected profile, when it exists, the token is
// the profile's own (no flag changes the client or the request) and someone
// is there to log in, and returns the new token; otherwise it returns why,
// which is the failure of the token, cause.
func (opts *tokenOptions) loginForExec(ctx context.Context, info execCredential, cause error) (*pixie.Token, error) {
	_, key, err := opts.resolve(opts.settings)
	if err != nil {
		return nil, cause
	}
	if _, own := profileOfKey(key); !own {
		return nil, cause
	}
	if !info.Spec.Interactive && !opts.isTerminal(opts.stderr) && !opts.browserAvailable() {
		return nil, &exitError{code: ExitLoginRequired, err: fmt.Errorf(
			"%w\npixie cannot log in from here: kubectl passed no terminal, stderr is not one, and no browser is configured ($BROWSER)", cause)}
	}
	fmt.Fprintf(opts.stderr, "pixie: profile %q has no usable token: logging in.\n", opts.profileName())
	if err := runLogin(ctx, &loginOptions{app: opts.app, settings: opts.settings, timeout: execLoginTimeout}); err != nil {
		return nil, err
	}
	return opts.fetch(ctx)
}

// execLoginTimeout bounds the login an exec credential plugin runs: the
// default of pixie login.
const execLoginTimeout = 5 * time.Minute

// browserAvailable reports whether pixie can open a browser: $BROWSER names
// one, the system has a URL opener (macOS, Windows), or a graphical session
// runs (X11, Wayland).
func (a *app) browserAvailable() bool {
	switch {
	case a.getenv("BROWSER") != "":
		return true
	case runtime.GOOS == "darwin" || runtime.GOOS == "windows":
		return true
	}
	return a.getenv("DISPLAY") != "" || a.getenv("WAYLAND_DISPLAY") != ""
}
