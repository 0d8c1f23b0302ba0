package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/internal/wire"
)

// quickstartOptions are the options of pixie quickstart.
type quickstartOptions struct {
	*app
	timeout time.Duration
}

func newQuickstartCmd(a *app) *cobra.Command {
	opts := &quickstartOptions{app: a}
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run every flow end to end against a local server",
		Long: `Start a development authorization server and a small protected API on
loopback ports, in this process, and run every flow through the same code as
pixie login, token, curl and logout, with a temporary PIXIE_HOME: client
credentials, authorization code with PKCE (playing the browser on the real login
page), device code (approving on the verification page), refresh with rotation,
an API call, revocation, and a refused reuse of the revoked token.

Each step is printed with its result and timing; the exit code is 1 if any
step fails.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runQuickstart(cmd.Context(), opts) },
	}
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 30*time.Second, "give up after `DURATION`")
	return cmd
}

// quickstart users and clients.
const (
	qsUser          = "alice"
	qsServiceClient = "quickstart-service"
	qsCLIClient     = "quickstart-cli"
	qsAPIClient     = "quickstart-api"
	qsSecretEnv     = "QUICKSTART_CLIENT_SECRET"
)

// quickstart is one run: its servers, the inner app that runs the commands,
// and the report.
type quickstart struct {
	out      *quickstartOptions
	issuer   string
	apiURL   string
	inner    *app
	innerOut lockedBuffer // stdout of the last inner command
	innerErr lockedBuffer // stderr of the last inner command
	failed   bool
}

func runQuickstart(ctx context.Context, opts *quickstartOptions) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	home, err := os.MkdirTemp("", "pixie-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)

	key, err := seal.GenerateKey()
	if err != nil {
		return err
	}
	password, serviceSecret, apiSecret := wire.RandomString(12), wire.RandomString(24), wire.RandomString(24)
	issuer, stopDS, err := startDevserver(devserver.Options{
		Users: []devserver.User{{Username: qsUser, Password: pixie.NewSecret(password), Name: "Alice Liddell", Email: "alice@example.com"}},
		Clients: []devserver.Client{
			{ID: qsServiceClient, Secret: pixie.NewSecret(serviceSecret), GrantTypes: []string{"client_credentials"}, Name: "quickstart service"},
			{ID: qsCLIClient, AuthMethod: pixie.AuthNone, RedirectURIs: []string{"http://127.0.0.1/callback"},
				GrantTypes: []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}, Name: "pixie quickstart"},
			{ID: qsAPIClient, Secret: pixie.NewSecret(apiSecret), GrantTypes: []string{"client_credentials"}, Name: "quickstart API"},
		},
		DeviceInterval: time.Second,
	})
	if err != nil {
		return err
	}
	defer stopDS()

	apiCfg := &pixie.Config{ClientID: qsAPIClient, ClientSecret: pixie.NewSecret(apiSecret), Endpoint: pixie.Endpoint{
		Issuer: issuer, TokenURL: issuer + "/token", IntrospectionURL: issuer + "/introspect",
	}}
	apiURL, stopAPI, err := startAPI(apiCfg)
	if err != nil {
		return err
	}
	defer stopAPI()

	browser := devserver.NewBrowser(nil, qsUser, password)
	q := &quickstart{out: opts, issuer: issuer, apiURL: apiURL}
	q.inner = &app{
		stdin:    strings.NewReader(""),
		stdout:   &q.innerOut,
		stderr:   &q.innerErr,
		getenv:   mapEnv(map[string]string{"PIXIE_HOME": home, qsSecretEnv: serviceSecret}),
		now:      opts.now,
		storeKey: key.Reveal(),
		hooks: &hooks{
			authorize: func(ctx context.Context, authURL string) error {
				cb, err := browser.Authorize(ctx, authURL)
				if err != nil {
					return err
				}
				return deliverCallback(ctx, cb.String())
			},
			device: func(ctx context.Context, da *pixie.DeviceAuth) error {
				return browser.Device(ctx, da.VerificationURI, da.UserCode)
			},
		},
	}

	if opts.verbose {
		// Show the commands' logs as they happen, not only on failure.
		q.inner.stderr = io.MultiWriter(&q.innerErr, opts.stderr)
	}

	w := opts.stdout
	fmt.Fprintf(w, "pixie quickstart: every flow, end to end, against a local server\n")
	fmt.Fprintf(w, "  authorization server  %s (pixie development server)\n", issuer)
	fmt.Fprintf(w, "  protected API         %s (checks tokens by introspection)\n", apiURL)
	fmt.Fprintf(w, "  PIXIE_HOME            %s (temporary)\n\n", home)

	var revoked *pixie.Token
	steps := []struct {
		name string
		run  func(context.Context) (string, error)
	}{
		{"client credentials", q.clientCredentials},
		{"authorization code + PKCE", q.authCode},
		{"device code", q.deviceCode},
		{"refresh with rotation", q.refresh},
		{"API call with the token", q.apiCall},
		{"revocation (logout)", func(ctx context.Context) (string, error) {
			var detail string
			var err error
			revoked, detail, err = q.logout(ctx)
			return detail, err
		}},
		{"revoked token refused", func(ctx context.Context) (string, error) { return q.reuse(ctx, apiCfg, revoked) }},
	}
	passed := 0
	for _, s := range steps {
		if q.failed {
			fmt.Fprintf(w, "  %s %-27s skipped\n", opts.paint(w, "33", "-"), s.name)
			continue
		}
		t := time.Now()
		q.innerOut.Reset()
		q.innerErr.Reset()
		detail, err := s.run(ctx)
		took := time.Since(t).Round(time.Millisecond)
		if err != nil {
			q.failed = true
			fmt.Fprintf(w, "  %s %-27s %7s  %v\n", opts.paint(w, "31", "FAIL"), s.name, took, err)
			if msg := strings.TrimSpace(q.innerErr.String()); msg != "" {
				fmt.Fprintf(w, "      %s\n", strings.ReplaceAll(msg, "\n", "\n      "))
			}
			continue
		}
		passed++
		fmt.Fprintf(w, "  %s %-27s %7s  %s\n", opts.paint(w, "32", "ok"), s.name, took, detail)
	}
	total := time.Since(start).Round(time.Millisecond)
	if q.failed {
		fmt.Fprintf(w, "\n%d of %d steps passed in %s.\n", passed, len(steps), total)
		return &exitError{code: ExitFailure, err: errors.New("quickstart failed")}
	}
	fmt.Fprintf(w, "\nAll %d steps passed in %s. Next: pixie serve, then pixie login --issuer http://127.0.0.1:9000 --client-id cli\n", len(steps), total)
	return nil
}

// command runs one pixie command line in the quickstart's home, as a user's
// shell would, and fails unless it exits with want.
func (q *quickstart) command(ctx context.Context, want int, args ...string) error {
	argv := args
	if q.out.verbose {
		argv = append([]string{"--verbose"}, args...)
	}
	if got := run(ctx, q.inner, argv); got != want {
		return fmt.Errorf("pixie %s: exit code %d, want %d", args[0], got, want)
	}
	return nil
}

// stored reads a profile's token from the store.
func (q *quickstart) stored(ctx context.Context, profile string) (*pixie.Token, error) {
	st, err := q.inner.openStore()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	tok, _, err := st.Load(ctx, profile)
	return tok, err
}

// lastLine returns the last line of the inner command's stderr.
func (q *quickstart) lastLine() string {
	lines := strings.Split(strings.TrimSpace(q.innerErr.String()), "\n")
	return lines[len(lines)-1]
}

func (q *quickstart) clientCredentials(ctx context.Context) (string, error) {
	if err := q.command(ctx, ExitOK, "token", "--issuer", q.issuer, "--client-id", qsServiceClient,
		"--client-secret-env", qsSecretEnv, "--grant", "client_credentials", "-o", "json"); err != nil {
		return "", err
	}
	var out tokenOutput
	if err := json.Unmarshal(q.innerOut.Bytes(), &out); err != nil {
		return "", fmt.Errorf("pixie token -o json: %w", err)
	}
	if out.AccessToken == "" || out.ExpiresIn == nil {
		return "", errors.New("pixie token -o json: no access token or expiry")
	}
	return fmt.Sprintf("pixie token: %s token for %s, expires in %s", out.TokenType, qsServiceClient, (time.Duration(*out.ExpiresIn) * time.Second).Round(time.Minute)), nil
}

func (q *quickstart) authCode(ctx context.Context) (string, error) {
	if err := q.command(ctx, ExitOK, "login", "--profile", "web", "--issuer", q.issuer, "--client-id", qsCLIClient,
		"--scope", "openid profile offline_access", "--timeout", "10s"); err != nil {
		return "", err
	}
	return "pixie login, login and consent pages: " + q.lastLine(), nil
}

func (q *quickstart) deviceCode(ctx context.Context) (string, error) {
	if err := q.command(ctx, ExitOK, "login", "--profile", "tv", "--grant", "device_code", "--issuer", q.issuer,
		"--client-id", qsCLIClient, "--scope", "openid offline_access", "--timeout", "10s"); err != nil {
		return "", err
	}
	return "pixie login --grant device_code, verification page: " + q.lastLine(), nil
}

func (q *quickstart) refresh(ctx context.Context) (string, error) {
	before, err := q.stored(ctx, "web")
	if err != nil {
		return "", err
	}
	if err := q.command(ctx, ExitOK, "token", "--profile", "web", "--force-refresh"); err != nil {
		return "", err
	}
	after, err := q.stored(ctx, "web")
	if err != nil {
		return "", err
	}
	switch {
	case strings.TrimSpace(q.innerOut.String()) != after.AccessToken.Reveal():
		return "", errors.New("pixie token printed a token other than the stored one")
	case after.AccessToken.Equal(before.AccessToken):
		return "", errors.New("the access token did not change")
	case after.RefreshToken.IsZero() || after.RefreshToken.Equal(before.RefreshToken):
		return "", errors.New("the refresh token was not rotated")
	}
	return "pixie token --force-refresh: new access token, refresh token rotated and stored", nil
}

func (q *quickstart) apiCall(ctx context.Context) (string, error) {
	if err := q.command(ctx, ExitOK, "curl", "--profile", "web", q.apiURL); err != nil {
		return "", err
	}
	var body struct{ Message string }
	if err := json.Unmarshal(q.innerOut.Bytes(), &body); err != nil {
		return "", fmt.Errorf("API answer %q: %w", q.innerOut.String(), err)
	}
	return "pixie curl: 200 " + body.Message, nil
}

func (q *quickstart) logout(ctx context.Context) (*pixie.Token, string, error) {
	tok, err := q.stored(ctx, "web")
	if err != nil {
		return nil, "", err
	}
	if err := q.command(ctx, ExitOK, "logout", "--profile", "web"); err != nil {
		return nil, "", err
	}
	if _, err := q.stored(ctx, "web"); !errors.Is(err, pixie.ErrNotFound) {
		return nil, "", fmt.Errorf("the token is still stored after logout (%v)", err)
	}
	return tok, "pixie logout: refresh and access tokens revoked (RFC 7009), deleted locally", nil
}

// reuse checks that the revoked tokens no longer work: the API refuses the
// access token, the server the refresh token, and pixie asks for a login.
func (q *quickstart) reuse(ctx context.Context, cfg *pixie.Config, tok *pixie.Token) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.apiURL, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return "", fmt.Errorf("the API answered %s to the revoked access token, want 401", resp.Status)
	}
	public := &pixie.Config{ClientID: qsCLIClient, AuthMethod: pixie.AuthNone, Endpoint: cfg.Endpoint}
	if _, err := public.Refresh(ctx, tok); !errors.Is(err, pixie.ErrInvalidGrant) {
		return "", fmt.Errorf("refreshing with the revoked refresh token: got %v, want invalid_grant", err)
	}
	if err := q.command(ctx, ExitLoginRequired, "token", "--profile", "web"); err != nil {
		return "", err
	}
	return "API: 401 invalid_token; refresh: invalid_grant; pixie token: exit 4 (login required)", nil
}

// startDevserver serves a devserver with o on a loopback port.
func startDevserver(o devserver.Options) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	o.Issuer = "http://" + ln.Addr().String()
	ds, err := devserver.New(o)
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: ds, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return o.Issuer, func() { srv.Close() }, nil
}

// startAPI serves a protected resource on a loopback port: GET / answers with
// a greeting for a token the authorization server says is active (RFC 7662),
// and 401 invalid_token otherwise (RFC 6750 section 3.1).
func startAPI(cfg *pixie.Config) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quickstart"`)
			http.Error(w, "no bearer token", http.StatusUnauthorized)
			return
		}
		in, err := cfg.Introspect(r.Context(), pixie.NewSecret(raw), pixie.HintAccessToken)
		if err != nil {
			http.Error(w, "introspection failed", http.StatusBadGateway)
			return
		}
		if !in.Active {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quickstart", error="invalid_token", error_description="the token is not active"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"message": "hello " + cmp.Or(in.Username, in.Subject) + ", scope " + strings.Join(in.Scope, " ")})
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}

// deliverCallback plays the browser's last step: following the redirect to the
// loopback redirect URI.
func deliverCallback(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return nil
}

// mapEnv is a getenv over m alone.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// lockedBuffer is a bytes.Buffer that the browser hook's goroutine may write to
// while the command does.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Bytes() []byte { return []byte(b.String()) }

func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
