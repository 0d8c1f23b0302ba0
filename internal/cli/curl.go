package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
)

// curlOptions are the options of pixie curl.
type curlOptions struct {
	*app
	settings *settingsFlags
	method   string
	headers  []string
	data     string
	include  bool
	url      string
}

func newCurlCmd(a *app) *cobra.Command {
	opts := &curlOptions{app: a}
	cmd := &cobra.Command{
		Use:   "curl [flags] URL",
		Short: "Send an HTTP request with a valid access token",
		Long: `Send an HTTP request authorized with the profile's access token, refreshed
when needed. When the server answers 401 with error="invalid_token", the token
is renewed once and the request replayed. The response body goes to stdout;
when the response has a status of 400 or more, the exit code is 1.

An http:// URL is refused unless its host is loopback (127.0.0.1, [::1],
localhost): the token would cross the network unencrypted. Give
--allow-insecure-http to send it all the same.

Without --profile, PIXIE_PROFILE or flags naming a server or client, the
profile is the one whose resource (pixie login --resource) covers the URL:
the same scheme, host and port, and a path at or under the resource's (the
longest such resource wins); else the profile "default". With neither, the
request goes without a token; if the answer is 401 with a challenge naming
the resource's metadata (RFC 9728), pixie logs in to that resource as pixie
login --resource does, when $BROWSER is set or stderr is a terminal, and
sends the request again with the new token; otherwise it exits with code 4
and the pixie login command to run.`,
		Example: `  pixie curl https://api.example.com/me
  pixie curl -X POST -H 'Content-Type: application/json' -d '{"a":1}' https://api.example.com/items
  pixie curl -d @body.json -i https://api.example.com/items`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.url = args[0]
			return runCurl(cmd.Context(), opts)
		},
	}
	opts.settings = addSettingsFlags(cmd)
	cmd.Flags().StringVarP(&opts.method, "request", "X", "", "HTTP `METHOD` (default GET, or POST with -d)")
	cmd.Flags().StringArrayVarP(&opts.headers, "header", "H", nil, "request header `'K: V'` (repeatable; Authorization carries the profile's token)")
	cmd.Flags().StringVarP(&opts.data, "data", "d", "", "request body `DATA`, or @FILE to read it from a file (@- for stdin)")
	cmd.Flags().BoolVarP(&opts.include, "include", "i", false, "print the status line and response headers before the body")
	return cmd
}

func runCurl(ctx context.Context, opts *curlOptions) error {
	u, err := url.Parse(opts.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("URL %q: want an absolute http or https URL", opts.url)
	}
	// Only this command line's --allow-insecure-http counts, not a profile's:
	// that one accepts the server's endpoints, not any API the token goes to.
	if err := refuseInsecureHTTP("URL", u, opts.settings.s.AllowInsecureHTTP); err != nil {
		return err
	}
	body, err := opts.body()
	if err != nil {
		return err
	}
	method := opts.method
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, opts.url, rd)
	if err != nil {
		return usageErr(err)
	}
	for _, h := range opts.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return usagef("-H %q: want 'Name: value'", h)
		}
		if strings.EqualFold(strings.TrimSpace(k), "Authorization") {
			return usagef("-H %s: pixie curl sends the profile's access token in Authorization; use curl itself for other credentials", strings.TrimSpace(k))
		}
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}

	if resp, err := opts.curlProfile(ctx, req); resp != nil || err != nil {
		if err != nil {
			return err
		}
		return opts.write(req, resp)
	}
	se, err := opts.openSession(ctx, opts.settings)
	if err != nil {
		return err
	}
	defer se.Close()
	_, src, err := opts.token(ctx, se, false, 0)
	if err != nil {
		return err
	}
	// A DPoP-bound token goes with a proof of its key; the Transport answers
	// a server's nonce challenge (RFC 9449 sections 7 and 9).
	client := &http.Client{Transport: &pixie.Transport{Source: src, Base: opts.httpClient().Transport, DPoP: se.prover()}}
	resp, err := client.Do(req)
	if err != nil {
		return opts.explain(se, err)
	}
	return opts.write(req, resp)
}

// write shows the response to req: with -i its status line and headers, then
// its body. A status of 400 or more is an error.
func (opts *curlOptions) write(req *http.Request, resp *http.Response) error {
	defer resp.Body.Close()
	if opts.include {
		fmt.Fprintf(opts.stdout, "%s %s\r\n", resp.Proto, resp.Status)
		for _, k := range slices.Sorted(maps.Keys(resp.Header)) {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(opts.stdout, "%s: %s\r\n", k, v)
			}
		}
		fmt.Fprint(opts.stdout, "\r\n")
	}
	if _, err := io.Copy(opts.stdout, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return fmt.Errorf("%s answered %s", req.URL.Host, resp.Status)
	}
	return nil
}

// body reads -d: literal data, @FILE or @- for stdin. It is nil without -d.
func (opts *curlOptions) body() ([]byte, error) {
	if opts.data == "" {
		return nil, nil
	}
	name, ok := strings.CutPrefix(opts.data, "@")
	switch {
	case !ok:
		return []byte(opts.data), nil
	case name == "-":
		return io.ReadAll(opts.stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("-d @%s: %w", name, err)
	}
	return b, nil
}
