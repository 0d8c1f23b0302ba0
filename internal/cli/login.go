package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mdp/qrterminal/v3"
	"github.com/spf13/cobra"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/wire"
	"github.com/pixieauth/pixie/oidc"
	"github.com/pixieauth/pixie/sqlitestore"
)

// loginOptions are the options of pixie login.
type loginOptions struct {
	*app
	settings    *settingsFlags
	redirectURI string
	noBrowser   bool
	timeout     time.Duration
	dpop, par   bool
	// playing counts the quickstart hooks still playing the browser: the
	// login waits for them to read its answer before it ends their context.
	playing sync.WaitGroup
}

// hooks stand in for the user in quickstart: they play the browser.
type hooks struct {
	// authorize follows an authorization URL to the redirect back to the
	// client, and delivers it there.
	authorize func(ctx context.Context, authURL string) error
	// device approves a device authorization.
	device func(ctx context.Context, da *pixie.DeviceAuth) error
}

func newLoginCmd(a *app) *cobra.Command {
	opts := &loginOptions{app: a}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in and save the profile and its tokens",
		Long: `Log in with the authorization code grant (the default: a browser and a
loopback redirect on 127.0.0.1), the device grant (a code to enter on another
device), or client credentials, then save the settings given into the profile
and the tokens into the sealed store. Settings given replace the profile's one
by one; naming another --issuer or --provider replaces all the endpoints of
the old server.

The loopback listener answers only the redirect that carries this login's
state (others get 400 and are ignored), and tells the browser the outcome
once the tokens are verified and saved. For a localhost --redirect-uri it
listens on both 127.0.0.1 and ::1, so that no other program can take either.

With --no-browser, for a browser on another machine (over SSH), the URL
the browser was sent back to can also be pasted on stdin, whichever of the
two arrives first: the browser shows an error page for 127.0.0.1, whose
address is that URL. It must be the whole URL: it carries the state that
proves it answers this login; a URL with another state is refused and pixie
keeps waiting.

The server's http:// URLs are refused unless their host is loopback; with
--allow-insecure-http they are accepted, and the profile keeps that choice.

With --resource URL and no server named, pixie login starts from a protected
resource alone: its metadata (RFC 9728) names the authorization server, which
is discovered; the client is the --client-id given, else a client ID metadata
document URL given (when the server accepts them), else the registration kept
from an earlier login, else a new dynamic registration (RFC 7591), kept in the
sealed store; the login asks for tokens for that resource (RFC 8707). The
profile is --profile, else the one already for the resource, else one named
after the resource's host and port (such as 127.0.0.1-9000, with -2 added
when that name is taken). Logging in again to such a profile rediscovers all.`,
		Example: `  pixie login --issuer https://id.example.com --client-id cli --scope "openid offline_access"
  pixie login --profile ci --issuer https://id.example.com --client-id svc --client-secret-env SVC_SECRET --grant client_credentials
  pixie login --grant device_code --provider github --client-id Iv1.abc
  pixie login --resource https://mcp.example.com/mcp`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runLogin(cmd.Context(), opts) },
	}
	opts.settings = addSettingsFlags(cmd)
	cmd.Flags().StringVar(&opts.redirectURI, "redirect-uri", "", "loopback redirect `URI` such as http://127.0.0.1:8765/callback (default: a random port on 127.0.0.1)")
	cmd.Flags().BoolVar(&opts.noBrowser, "no-browser", false, "do not open a browser; print the URL, and also accept the URL the browser was sent to pasted on stdin")
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 5*time.Minute, "give up after `DURATION` without a completed login")
	cmd.Flags().BoolVar(&opts.dpop, "dpop", false, "bind the tokens to a new DPoP key kept sealed with them (RFC 9449); saved in the profile")
	cmd.Flags().BoolVar(&opts.par, "par", false, "push the authorization request to the server first (RFC 9126); saved in the profile")
	return cmd
}

func runLogin(ctx context.Context, opts *loginOptions) error {
	if opts.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if resource, ok, err := opts.resourceLogin(); ok || err != nil {
		if err != nil {
			return err
		}
		return opts.loginResource(ctx, resource, nil, nil)
	}
	base, _, err := opts.profileSettings()
	if err != nil {
		return err
	}
	s, err := opts.settings.apply(base)
	if err != nil {
		return err
	}
	if opts.settings.fs.Changed("redirect-uri") {
		s.RedirectURI = opts.redirectURI
		if err := s.check(); err != nil {
			return err
		}
	}
	if opts.settings.fs.Changed("dpop") {
		s.DPoP = opts.dpop
	}
	if opts.settings.fs.Changed("par") {
		s.PAR = opts.par
	}
	cfg, err := opts.config(ctx, s)
	if err != nil {
		return err
	}
	key, err := s.newDPoPKey(cfg)
	if err != nil {
		return err
	}
	st, lctx, end, err := opts.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	var tok *pixie.Token
	var subject string
	// finish tells the browser waiting at the redirect URI how the login ended.
	finish := func(error) {}
	switch s.grant() {
	case grantAuthCode:
		tok, subject, finish, err = opts.authCode(lctx, cfg, s)
	case grantDeviceCode:
		tok, subject, err = opts.deviceCode(lctx, cfg, s)
	case grantClientCredentials:
		tok, err = cfg.ClientCredentials(lctx, s.requestOptions()...)
	}
	if err != nil {
		return opts.failed(ctx, s.ClientID, err, finish)
	}
	if subject == "" && s.grant() != grantClientCredentials {
		subject = opts.userinfoSubject(ctx, cfg, tok)
	}
	if subject == "" {
		subject = opts.introspectSubject(ctx, cfg, tok)
	}

	s.Grant = s.grant()
	err = opts.saveProfile(ctx, st, s)
	if err == nil {
		src := cfg.RefreshSource(pixie.SourceOptions{Store: st, Key: opts.profileName()})
		if tok, err = withDPoPKey(tok, key); err == nil {
			err = src.Put(ctx, tok)
		}
	}
	finish(err)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stderr, "Logged in to profile %q%s; %s.\n", opts.profileName(), asSubject(subject), expiryPhrase(tok, opts.now()))
	return nil
}

// begin opens the token store and bounds the login by --timeout. The caller
// defers end, which waits for the quickstart hooks still reading the page the
// login answered (before their context ends), then ends the login's context
// and closes the store.
func (opts *loginOptions) begin(ctx context.Context) (st *sqlitestore.Store, lctx context.Context, end func(), err error) {
	if st, err = opts.openStore(); err != nil {
		return nil, nil, nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, opts.timeout)
	return st, lctx, func() {
		opts.playing.Wait()
		cancel()
		st.Close()
	}, nil
}

// asSubject is the " as SUBJECT" of the line a login ends with, or "" when
// the subject is not known.
func asSubject(subject string) string {
	if subject == "" {
		return ""
	}
	return " as " + terminalLine(subject)
}

// failed is the error of a login of clientID that failed with err, which the
// browser waiting at the redirect URI is told through finish.
func (opts *loginOptions) failed(ctx context.Context, clientID string, err error, finish func(error)) error {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("login timed out after %s without completing; run pixie login again (--timeout sets the limit)", opts.timeout)
	}
	err = clientAuthFailed(clientID, err)
	finish(err)
	// A failed login is a failure, not a request to log in again.
	return &exitError{code: ExitFailure, err: fmt.Errorf("login failed: %w", err)}
}

// expiryPhrase describes when tok expires.
func expiryPhrase(tok *pixie.Token, now time.Time) string {
	if tok.Expiry.IsZero() {
		return "the access token has no expiry"
	}
	return fmt.Sprintf("the access token expires at %s (in %s)", tok.Expiry.UTC().Format(time.RFC3339), tok.ExpiresIn(now).Round(time.Second))
}

// authCode runs the authorization code grant with PKCE through a loopback
// redirect (RFC 8252 section 7.3), and returns the token and the subject of its
// verified ID token. The browser that delivered the code waits for the page
// that says how the login ended: the caller must call finish with the outcome
// once it has kept the tokens, or failed to. extra options, such as the
// scopes of a step-up, go into the authorization request after those of s.
func (a *loginOptions) authCode(ctx context.Context, cfg *pixie.Config, s Settings, extra ...pixie.Option) (tok *pixie.Token, subject string, finish func(error), err error) {
	finish = func(error) {}
	host, path := "127.0.0.1", "/callback"
	port := "0"
	if s.RedirectURI != "" {
		u, err := loopbackRedirect(s.RedirectURI)
		if err != nil {
			return nil, "", finish, err
		}
		host, path = u.Hostname(), u.Path
		if u.Port() != "" {
			port = u.Port()
		}
	}
	lns, err := listenLoopback(host, port)
	if err != nil {
		return nil, "", finish, err
	}
	_, boundPort, _ := net.SplitHostPort(lns[0].Addr().String())
	cfg.RedirectURL = (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, boundPort), Path: path}).String()

	ar, err := cfg.NewAuthRequest(ctx, append(s.requestOptions(), extra...)...)
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, "", finish, err
	}
	cb := &callbackHandler{
		ar:      ar,
		path:    path,
		got:     make(chan callbackResult, 1),
		outcome: make(chan error, 1),
		warn: sync.OnceFunc(func() {
			fmt.Fprintln(a.stderr, "pixie: ignored a request to the redirect URI that lacks this login's state; still waiting for the browser.")
		}),
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: cb}
	for _, ln := range lns {
		go srv.Serve(ln)
	}
	var once sync.Once
	finish = func(err error) {
		once.Do(func() {
			cb.outcome <- err
			// Shutdown waits for the handler to write the page.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		})
	}

	fmt.Fprintf(a.stderr, "Open this URL to log in: %s\n", ar.URL)
	a.open(ctx, ar.URL, cfg.AllowInsecureHTTP, func(ctx context.Context) error { return a.hooks.authorize(ctx, ar.URL) })
	if a.noBrowser && a.hooks == nil {
		a.readPasted(cb)
	}

	var r callbackResult
	select {
	case r = <-cb.got:
	case <-ctx.Done():
		return nil, "", finish, ctx.Err()
	}
	if r.err != nil {
		return nil, "", finish, r.err
	}
	if tok, err = cfg.Exchange(ctx, ar, r.code, s.resourceOptions()...); err != nil {
		return nil, "", finish, err
	}
	subject, err = a.idSubject(ctx, cfg, tok, ar.Nonce)
	return tok, subject, finish, err
}

// callbackResult is what the redirect to the loopback listener brought: a
// code, or why there is none.
type callbackResult struct {
	code string
	err  error
}

// callbackHandler answers at the redirect URI. It takes the first callback
// that carries the authorization request's state, hands it to the login, and
// answers it only with the login's outcome.
type callbackHandler struct {
	ar      *pixie.AuthRequest
	path    string
	claim   sync.Once
	got     chan callbackResult // the callback taken
	outcome chan error          // how the login ended, for its page
	warn    func()
}

func (h *callbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.path {
		http.NotFound(w, r)
		return
	}
	code, err := h.ar.ParseCallback(r.URL.Query())
	if errors.Is(err, pixie.ErrStateMismatch) {
		// Any local program can reach this port. A request without this
		// login's state did not come from the authorization server's redirect
		// (RFC 6749 section 10.12): it must not end the login, or anyone on
		// the machine could abort it.
		h.warn()
		callbackPage(w, http.StatusBadRequest, "Not this login", "This request does not carry the state of the login pixie is waiting for, so pixie ignored it. If you did not open it yourself, another program sent it.")
		return
	}
	taken := false
	h.claim.Do(func() { taken = true })
	if !taken {
		callbackPage(w, http.StatusConflict, "Login already answered", "pixie has already received the answer to this login. You can close this tab and return to the terminal.")
		return
	}
	h.got <- callbackResult{code, err}
	// The page says "logged in" only once the tokens are exchanged, the ID
	// token verified and both saved: any of these may still fail.
	select {
	case err := <-h.outcome:
		if err != nil {
			callbackPage(w, http.StatusBadRequest, "Login failed", "pixie could not log you in: "+message(err)+". Return to the terminal and run pixie login again.")
			return
		}
		callbackPage(w, http.StatusOK, "Logged in", "You are logged in. You can close this tab and return to the terminal.")
	case <-r.Context().Done():
	}
}

// listenLoopback listens for the redirect on host:port, a random port when
// port is "0". For localhost it listens on the same port of both 127.0.0.1 and
// ::1: a browser may resolve localhost to either, and another program could
// take the address left free and receive the authorization code (RFC 8252
// section 8.3). Where ::1 is unavailable, no program can take it either.
func listenLoopback(host, port string) ([]net.Listener, error) {
	if host != "localhost" {
		ln, err := listenRedirect(host, port)
		if err != nil {
			return nil, err
		}
		return []net.Listener{ln}, nil
	}
	// A random port free on 127.0.0.1 may be taken on ::1: try a few.
	for attempt := 1; ; attempt++ {
		ln4, err := listenRedirect("127.0.0.1", port)
		if err != nil {
			return nil, err
		}
		_, p, _ := net.SplitHostPort(ln4.Addr().String())
		ln6, err := net.Listen("tcp", net.JoinHostPort("::1", p))
		if err == nil {
			return []net.Listener{ln4, ln6}, nil
		}
		if !ipv6Loopback() {
			return []net.Listener{ln4}, nil
		}
		ln4.Close()
		if port == "0" && attempt < 5 {
			continue
		}
		return nil, fmt.Errorf("listen for the redirect on %s: %v\nAnother program listens there and could receive the login meant for localhost; stop it, or choose another port in --redirect-uri", net.JoinHostPort("::1", p), err)
	}
}

// ipv6Loopback reports whether this machine can listen on ::1.
func ipv6Loopback() bool {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// listenRedirect listens on host:port, explaining a failure.
func listenRedirect(host, port string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		hint := ""
		if port != "0" {
			hint = "\nIs another program (or pixie login) using the port of --redirect-uri?"
		}
		// %v: a local failure, not a temporary one of the server's.
		return nil, fmt.Errorf("listen for the redirect on %s: %v%s", net.JoinHostPort(host, port), err, hint)
	}
	return ln, nil
}

// open shows u to the user: through the quickstart hook when there is one,
// otherwise in the browser unless --no-browser. allowInsecure lets the browser
// open an http:// URL on a host other than loopback.
func (a *loginOptions) open(ctx context.Context, u string, allowInsecure bool, hook func(context.Context) error) {
	if a.hooks != nil {
		a.playing.Go(func() {
			if err := hook(ctx); err != nil {
				fmt.Fprintf(a.stderr, "browser: %s\n", message(err))
			}
		})
		return
	}
	if a.noBrowser {
		return
	}
	err := a.openBrowser(u, allowInsecure)
	switch {
	case errors.Is(err, errNotBrowsable):
		fmt.Fprintf(a.stderr, "Not opening a browser: %s\n", terminalLine(err.Error()))
	case err != nil:
		fmt.Fprintf(a.stderr, "Could not open a browser (%s); open the URL yourself.\n", terminalLine(err.Error()))
	}
}

// errNotBrowsable is wrapped by the error of openBrowser for a URL it refuses.
var errNotBrowsable = errors.New("not a URL to open in a browser")

// openBrowser starts $BROWSER, or the system's URL opener, on u, without
// waiting for it. u comes from the server (a device verification URI, the
// authorization endpoint), so it must be an absolute https URL, or http on a
// loopback host or with allowInsecure: a value such as "--help" would be read
// by the opener as an option, and "file:///etc/passwd" would open a local file.
func (a *app) openBrowser(u string, allowInsecure bool) error {
	if err := browsable(u, allowInsecure); err != nil {
		return err
	}
	var argv []string
	if b := strings.Fields(a.getenv("BROWSER")); len(b) > 0 {
		argv = append(b, u)
	} else {
		switch runtime.GOOS {
		case "darwin":
			argv = []string{"open", u}
		case "windows":
			argv = []string{"rundll32", "url.dll,FileProtocolHandler", u}
		default:
			argv = []string{"xdg-open", u}
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// browsable refuses a URL openBrowser must not open; the error wraps
// errNotBrowsable.
func browsable(u string, allowInsecure bool) error {
	if strings.HasPrefix(u, "-") {
		return fmt.Errorf("%w: %q starts with '-'", errNotBrowsable, u)
	}
	if err := wire.CheckURL(u, allowInsecure); err != nil {
		return fmt.Errorf("%w: %v", errNotBrowsable, err)
	}
	return nil
}

// callbackPage answers the browser at the redirect URI.
func callbackPage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>pixie: %s</title></head>\n<body><h1>%s</h1>\n<p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
}

// loopbackRedirect checks a --redirect-uri: http on a loopback host (RFC 8252
// section 7.3), and returns it parsed.
func loopbackRedirect(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--redirect-uri %q: want http://127.0.0.1:PORT/PATH", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "::1", "localhost":
	default:
		return nil, fmt.Errorf("--redirect-uri %q: the host must be loopback (127.0.0.1, [::1] or localhost)", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// idSubject verifies the ID token of tok, when there is one and the server
// publishes its keys, and returns its subject.
func (a *app) idSubject(ctx context.Context, cfg *pixie.Config, tok *pixie.Token, nonce string) (string, error) {
	if tok.IDToken.IsZero() || cfg.Endpoint.JWKSURL == "" || cfg.Endpoint.Issuer == "" {
		return "", nil
	}
	v, err := oidc.NewVerifier(oidc.VerifierConfig{
		ClientID:   cfg.ClientID,
		Issuer:     cfg.Endpoint.Issuer,
		JWKSURL:    cfg.Endpoint.JWKSURL,
		HTTPClient: cfg.HTTPClient,

		AllowInsecureHTTP: cfg.AllowInsecureHTTP,
	})
	if err != nil {
		return "", err
	}
	var opts []oidc.VerifyOption
	if nonce != "" {
		opts = append(opts, oidc.WithNonce(nonce))
	}
	id, err := v.VerifyToken(ctx, tok, opts...)
	if err != nil {
		return "", fmt.Errorf("the ID token does not verify: %w", err)
	}
	return id.Subject, nil
}

// userinfoSubject asks the userinfo endpoint (OpenID Connect Core section 5.3),
// when the server has one, who the user of tok is: the preferred_username, else
// the sub. Failures, such as a token without the openid scope, leave the subject
// unknown.
func (a *app) userinfoSubject(ctx context.Context, cfg *pixie.Config, tok *pixie.Token) string {
	if cfg.Endpoint.UserinfoURL == "" {
		return ""
	}
	var opts []oidc.UserInfoOption
	if cfg.AllowInsecureHTTP {
		opts = append(opts, oidc.AllowInsecureHTTP())
	}
	u, err := oidc.UserInfo(ctx, cfg.HTTPClient, cfg.Endpoint.UserinfoURL, tok, opts...)
	if err != nil {
		return ""
	}
	return cmp.Or(u.PreferredUsername, u.Subject)
}

// introspectSubject asks the server whom tok belongs to, when it offers
// introspection and the client authenticates: the endpoint refuses public
// clients (RFC 7662 section 2.1). Failures leave the subject unknown.
func (a *app) introspectSubject(ctx context.Context, cfg *pixie.Config, tok *pixie.Token) string {
	if cfg.Endpoint.IntrospectionURL == "" {
		return ""
	}
	if m, err := cfg.EffectiveAuthMethod(); err != nil || m == pixie.AuthNone {
		return ""
	}
	in, err := cfg.Introspect(ctx, tok.AccessToken, pixie.HintAccessToken)
	if err != nil || !in.Active {
		return ""
	}
	if in.Username != "" {
		return in.Username
	}
	return in.Subject
}

// deviceCode runs the device authorization grant (RFC 8628).
func (a *loginOptions) deviceCode(ctx context.Context, cfg *pixie.Config, s Settings) (*pixie.Token, string, error) {
	if cfg.Endpoint.DeviceAuthURL == "" {
		return nil, "", usagef("the server has no device authorization endpoint: give --device-url URL")
	}
	da, err := cfg.DeviceAuth(ctx, s.requestOptions()...)
	if err != nil {
		return nil, "", err
	}
	// The server chose these strings: they reach the terminal escaped.
	fmt.Fprintf(a.stderr, "To log in, open %s and enter the code: %s\n", terminalLine(da.VerificationURI), terminalLine(da.UserCode))
	link := da.VerificationURI
	if da.VerificationURIComplete != "" && browsable(da.VerificationURIComplete, cfg.AllowInsecureHTTP) == nil {
		link = da.VerificationURIComplete
		fmt.Fprintf(a.stderr, "Or open %s\n", terminalLine(da.VerificationURIComplete))
		if a.isTerminal(a.stderr) {
			qrterminal.GenerateWithConfig(da.VerificationURIComplete, qrterminal.Config{
				Level: qrterminal.L, Writer: a.stderr, HalfBlocks: true,
				BlackChar: qrterminal.BLACK_BLACK, WhiteBlackChar: qrterminal.WHITE_BLACK,
				WhiteChar: qrterminal.WHITE_WHITE, BlackWhiteChar: qrterminal.BLACK_WHITE, QuietZone: 1,
			})
		}
	}
	// The user may well approve on another device: open a browser here only
	// when one is configured or someone is at this terminal.
	if a.canLogIn() {
		a.open(ctx, link, cfg.AllowInsecureHTTP, func(ctx context.Context) error { return a.hooks.device(ctx, da) })
	}
	stop := a.spinner("Waiting for approval")
	tok, err := cfg.DeviceToken(ctx, da)
	stop()
	if err != nil {
		return nil, "", err
	}
	sub, err := a.idSubject(ctx, cfg, tok, "")
	return tok, sub, err
}
