package cli

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/pixieauth/pixie"
)

// Logging in to a protected resource from its URL alone: pixie login
// --resource URL, and pixie curl URL when no profile is for URL. The resource's
// metadata (RFC 9728) names the authorization server; [pixie.ForResource]
// discovers it and obtains a client; the login is the loopback authorization
// code grant of pixie login, with the RFC 8707 resource.

// serverFlags name the server: with any of them, --resource is the RFC 8707
// parameter of a login to that server, not a resource to discover it from.
var serverFlags = []string{"issuer", "provider", "auth-url", "token-url", "device-url"}

// resourceLogin reports whether pixie login discovers its server and client
// from a protected resource, and which: --resource URL given once without a
// server, or, without --resource or a server, the selected profile's resource.
func (opts *loginOptions) resourceLogin() (string, bool, error) {
	f := opts.settings
	for _, name := range serverFlags {
		if f.fs.Changed(name) {
			return "", false, nil
		}
	}
	if f.fs.Changed("resource") {
		if len(f.resources) != 1 {
			return "", false, usagef("--resource without --issuer names the protected resource to log in to: give it once")
		}
		return f.resources[0], true, nil
	}
	base, _, err := opts.profileSettings()
	if err != nil || base.Resource == "" {
		return "", false, err
	}
	// The login keeps the profile selected: see loginResource.
	opts.profile = opts.profileName()
	return base.Resource, true, nil
}

// loginResource logs in to the protected resource at resourceURL (ch is the
// challenge the resource answered, if any; d, if not nil, the Discovery that
// read its metadata) and saves the profile and its tokens. The profile is
// --profile, else the one already for resourceURL, else one named after its
// host (see [resourceProfileName]). The registration of a new client is
// kept in the sealed store for the next login.
func (opts *loginOptions) loginResource(ctx context.Context, resourceURL string, ch *pixie.Challenge, d *pixie.Discovery) error {
	f := opts.settings
	if err := checkURL("--resource", resourceURL, f.s.AllowInsecureHTTP || opts.profileAllowsInsecure(resourceURL)); err != nil {
		return err
	}
	if f.fs.Changed("grant") && f.s.Grant != grantAuthCode {
		return usagef("--grant %s: a login to a protected resource uses the authorization code grant", f.s.Grant)
	}
	c, _, err := opts.loadConfig()
	if err != nil {
		return err
	}
	if opts.profile == "" {
		opts.profile = resourceProfileName(c, resourceURL)
	}
	s, err := f.apply(keptForResource(c.Profiles[opts.profileName()], resourceURL))
	if err != nil {
		return err
	}
	secret, err := opts.secret(ctx, s)
	if err != nil {
		return err
	}
	st, lctx, end, err := opts.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	var (
		res     *pixie.ProtectedResource
		subject string
		finish  = func(error) {}
	)
	login := func(ctx context.Context, cfg *pixie.Config, extra ...pixie.Option) (*pixie.Token, error) {
		tok, sub, fin, err := opts.authCode(ctx, cfg, s, extra...)
		finish, subject = fin, sub
		if err != nil {
			return nil, err
		}
		if subject == "" {
			subject = opts.userinfoSubject(ctx, cfg, tok)
		}
		// The profile is saved before the token, as pixie login does.
		return tok, opts.saveProfile(ctx, st, resourceSettings(s, res))
	}
	res, err = pixie.ForResource(lctx, resourceURL, pixie.ResourceOptions{
		ClientID:          s.ClientID,
		ClientSecret:      secret,
		ClientName:        "pixie command line",
		RedirectURL:       s.RedirectURI,
		Scopes:            s.Scopes,
		Challenge:         ch,
		Registrations:     pixie.StoreRegistrations(st),
		Login:             login,
		Source:            pixie.SourceOptions{Store: st, Key: opts.profileName(), Logger: opts.logger()},
		Discovery:         d,
		HTTPClient:        opts.httpClient(),
		AllowInsecureHTTP: s.AllowInsecureHTTP,
		Logger:            opts.logger(),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stderr, "Protected resource %s: logging in at %s with client %s (%s).\n", terminalLine(res.Metadata.Resource),
		terminalLine(res.Server.Issuer), terminalLine(res.Config.ClientID), clientSourcePhrase(string(res.Client)))
	tok, err := res.Login(lctx)
	if err != nil {
		return opts.failed(ctx, res.Config.ClientID, err, finish)
	}
	finish(nil)
	fmt.Fprintf(opts.stderr, "Logged in to profile %q%s for %s; %s.\n", opts.profileName(), asSubject(subject), terminalLine(res.Metadata.Resource), expiryPhrase(tok, opts.now()))
	return nil
}

// profileAllowsInsecure reports whether the selected profile, made for
// resourceURL, keeps --allow-insecure-http.
func (opts *loginOptions) profileAllowsInsecure(resourceURL string) bool {
	base, _, err := opts.profileSettings()
	return err == nil && base.Resource == resourceURL && base.AllowInsecureHTTP
}

// keptForResource returns what a new login to resource keeps of the
// profile's settings p: its request (scopes, parameters, redirect URI,
// --allow-insecure-http) when p is for resource, and the client when it was
// given rather than registered. The server and a registered client are
// discovered again.
func keptForResource(p Settings, resource string) Settings {
	if p.Resource != resource {
		return Settings{}
	}
	k := Settings{Scopes: p.Scopes, Params: p.Params, Audience: p.Audience, RedirectURI: p.RedirectURI,
		AllowInsecureHTTP: p.AllowInsecureHTTP, origin: p.origin}
	switch pixie.ClientKind(p.ClientSource) {
	case pixie.ClientGiven, pixie.ClientMetadataDocument:
		k.ClientID, k.AuthMethod, k.PrivateKey = p.ClientID, p.AuthMethod, p.PrivateKey
		k.ClientSecretEnv, k.ClientSecretFile, k.ClientSecretCmd = p.ClientSecretEnv, p.ClientSecretFile, p.ClientSecretCmd
	}
	return k
}

// resourceSettings are the settings of the profile of a login to res with s:
// the server and client ForResource chose, for the resource's tokens.
func resourceSettings(s Settings, res *pixie.ProtectedResource) Settings {
	p := s
	p.Issuer, p.ClientID, p.AuthMethod = res.Server.Issuer, res.Config.ClientID, string(res.Config.AuthMethod)
	p.Grant, p.Scopes = grantAuthCode, res.Config.Scopes
	p.Resources = []string{res.Metadata.Resource}
	p.Resource, p.ClientSource = res.Metadata.Resource, string(res.Client)
	if res.Client != pixie.ClientGiven {
		// A registered client's secret, if any, is in the registration.
		p.ClientSecretEnv, p.ClientSecretFile, p.ClientSecretCmd, p.PrivateKey = "", "", "", ""
	}
	return p
}

// clientSourcePhrase says how a profile's client was obtained, from its
// [pixie.ClientKind].
func clientSourcePhrase(kind string) string {
	switch pixie.ClientKind(kind) {
	case pixie.ClientGiven:
		return "client ID given"
	case pixie.ClientMetadataDocument:
		return "client ID metadata document"
	case pixie.ClientStoredRegistration:
		return "stored registration"
	case pixie.ClientNewRegistration:
		return "new registration"
	}
	return kind
}

// resourceProfileName returns the profile of a login to resource without
// --profile: the profile already for resource, else one named after its host
// and port ("api.example.com", "127.0.0.1-9000"), with "-2", "-3"... added
// when that name is a profile for something else.
func resourceProfileName(c *fileConfig, resource string) string {
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		if c.Profiles[name].Resource == resource {
			return name
		}
	}
	base := "resource"
	if u, err := url.Parse(resource); err == nil {
		base = cmp.Or(hostProfileName(u.Host), base)
	}
	name := base
	for i := 2; ; i++ {
		if _, taken := c.Profiles[name]; !taken {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// hostProfileName makes a valid profile name of host: letters, digits, '.'
// and '_' are kept (lower case), runs of anything else become one '-', and
// the name starts and ends with a letter or digit.
func hostProfileName(host string) string {
	alnum := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	words := strings.FieldsFunc(strings.ToLower(host), func(r rune) bool { return !alnum(r) && r != '.' && r != '_' })
	return strings.TrimFunc(strings.Join(words, "-"), func(r rune) bool { return !alnum(r) })
}

// resourceProfileFor returns the profile for a request to u: the one whose
// resource covers u, the longest such resource when several do.
func resourceProfileFor(c *fileConfig, u *url.URL) (string, bool) {
	best, bestLen := "", -1
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		r, err := url.Parse(c.Profiles[name].Resource)
		if c.Profiles[name].Resource == "" || err != nil || !resourceCovers(r, u) {
			continue
		}
		if n := len(r.EscapedPath()); n > bestLen {
			best, bestLen = name, n
		}
	}
	return best, bestLen >= 0
}

// resourceCovers reports whether a request to u is a request to the resource
// r: the same scheme, host and port, and u's path is r's or under it at a
// segment boundary; a resource with a query covers only itself.
func resourceCovers(r, u *url.URL) bool {
	if !strings.EqualFold(r.Scheme, u.Scheme) || hostPort(r) != hostPort(u) {
		return false
	}
	if r.RawQuery != "" {
		return r.RawQuery == u.RawQuery && r.EscapedPath() == u.EscapedPath()
	}
	base, path := strings.TrimSuffix(r.EscapedPath(), "/"), u.EscapedPath()
	return path == base || strings.HasPrefix(path, base+"/")
}

// hostPort is u's host and port, the scheme's default port when it has none.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// curlProfile chooses the profile of pixie curl when neither a profile
// (--profile, PIXIE_PROFILE) nor a server or client is given:
//
//  1. the profile whose resource covers the URL (see [resourceProfileFor]);
//  2. else the profile "default", if there is one;
//  3. else none: req is sent without a token. A 401 whose challenge names the
//     resource's metadata (RFC 9728 section 5.1) starts a login to the
//     resource, when someone can log in (see [app.canLogIn]), after which the
//     request is sent with the new profile's token; without anyone to log in,
//     the error gives the pixie login command to run (exit code 4). Another
//     answer is returned, to be shown as it is.
//
// The chosen profile becomes the selected one.
func (opts *curlOptions) curlProfile(ctx context.Context, req *http.Request) (*http.Response, error) {
	f := opts.settings
	if opts.profileExplicit() || f.s.Issuer != "" || f.s.Provider != "" || f.s.TokenURL != "" || f.s.ClientID != "" {
		return nil, nil
	}
	c, _, err := opts.loadConfig()
	if err != nil {
		return nil, err
	}
	if name, ok := resourceProfileFor(c, req.URL); ok {
		opts.profile = name
		return nil, nil
	}
	if _, ok := c.Profiles[opts.profileName()]; ok {
		return nil, nil
	}
	bare := req.Clone(ctx)
	if req.GetBody != nil {
		if bare.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	resp, err := opts.httpClient().Do(bare)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		fmt.Fprintf(opts.stderr, "pixie: no profile for %s: sent the request without a token.\n", terminalLine(req.URL.Host))
		return resp, nil
	}
	resp.Body.Close()
	var ch *pixie.Challenge
	for _, cand := range pixie.Challenges(resp.Header) {
		if cand.ResourceMetadata != "" {
			ch = &cand
			break
		}
	}
	if ch == nil {
		// Not a resource pixie can log in to alone: the missing profile is
		// the error.
		return nil, nil
	}
	d := &pixie.Discovery{HTTPClient: opts.httpClient(), AllowInsecureHTTP: f.s.AllowInsecureHTTP}
	m, err := d.ResourceFromChallenge(ctx, req.URL.String(), ch)
	if err != nil {
		return nil, err
	}
	if !opts.canLogIn() {
		cmd := "pixie login --resource " + shellWord(m.Resource)
		if f.s.AllowInsecureHTTP {
			cmd += " --allow-insecure-http"
		}
		return nil, &exitError{code: ExitLoginRequired, err: fmt.Errorf("%s needs a token for protected resource %s, and no profile is for it; not logging in without a terminal or $BROWSER\nLog in with: %s",
			req.URL.Host, terminalLine(m.Resource), terminalLine(cmd))}
	}
	lo := &loginOptions{app: opts.app, settings: f, timeout: 5 * time.Minute}
	return nil, lo.loginResource(ctx, m.Resource, ch, d)
}

// canLogIn reports whether someone can take part in a login: a browser is
// configured ($BROWSER), someone is at the terminal, or quickstart plays the
// browser. Commands that did not ask for a login run one only then, and the
// device flow opens a browser only then.
func (a *app) canLogIn() bool {
	return a.hooks != nil || a.getenv("BROWSER") != "" || a.isTerminal(a.stderr)
}

// shellWord quotes s for a POSIX shell when it holds characters the shell
// would interpret.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_./:@%+=,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
