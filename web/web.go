package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/oidc"
)

// Provider is an authorization server users sign in with.
type Provider struct {
	// Name identifies the provider: Login takes it as ?provider=Name, and
	// [User.Provider] reports it. It must be unique among a Web's providers.
	Name string
	// Config is the client at the provider: ClientID, ClientSecret (or
	// ClientKey), Scopes, Endpoint and HTTPClient. RedirectURL is set by [New]
	// to the Web's callback URL.
	//
	// Endpoint may come from a provider preset (package provider). When
	// Endpoint.Issuer is set, [New] discovers the provider's metadata (RFC 8414,
	// OpenID Connect Discovery 1.0) and fills every endpoint the preset leaves
	// empty, end_session_endpoint included; Endpoint{Issuer: "..."} alone is
	// enough for an OpenID provider. Scopes default to openid, profile and email
	// for a provider with an Issuer, and to none otherwise.
	Config pixie.Config
	// UserURL is where a provider that is not an OpenID provider (its scopes
	// lack openid, or it has no issuer and key set, like GitHub) tells who the
	// user is: a GET with the user's access token answering a JSON object. The
	// user's subject is its "sub" or "id" member, the name its "name",
	// "login" or "preferred_username", the email its "email". Empty means
	// Endpoint.UserinfoURL, or https://api.github.com/user for GitHub's token
	// endpoint.
	UserURL string
}

// provider is a configured Provider.
type provider struct {
	name       string
	cfg        *pixie.Config
	verifier   *oidc.Verifier // nil: not an OpenID provider
	userURL    string         // for non-OIDC providers
	endSession string         // end_session_endpoint, or ""
}

// Defaults of the Options.
const (
	DefaultIdleTimeout     = 24 * time.Hour
	DefaultAbsoluteTimeout = 7 * 24 * time.Hour
	// DefaultLoginTimeout bounds the time between Login and Callback.
	DefaultLoginTimeout = 10 * time.Minute
)

// githubUserURL is GitHub's user API, the UserURL of a provider whose token
// endpoint is GitHub's.
const githubUserURL = "https://api.github.com/user"

// Option configures [New].
type Option func(*options)

type options struct {
	baseURL                      string
	store                        SessionStore
	providers                    []Provider
	loginPath, callbackPath      string
	afterLogoutPath              string
	idle, absolute, loginTimeout time.Duration
	cacheSize                    int
	now                          func() time.Time
	logger                       *slog.Logger
	errorPage                    func(http.ResponseWriter, *http.Request, int, error)
}

// BaseURL is the URL the app is served at, such as "https://app.example.com"
// (required): the callback URL is built from it, and cookies are Secure and
// carry the __Host- prefix when it is https.
func BaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// Store keeps the sessions (required): a web/sqlitesession store for one
// server, a web/redissession store for several replicas.
func Store(s SessionStore) Option { return func(o *options) { o.store = s } }

// WithProvider adds a provider users may sign in with; give one per provider.
func WithProvider(p Provider) Option {
	return func(o *options) { o.providers = append(o.providers, p) }
}

// Paths sets where the app mounts the handlers Login and Callback (defaults
// "/login" and "/callback"): Require sends signed-out browsers to login, and
// the provider sends them back to BaseURL + callback, which must be the
// client's registered redirect URI.
func Paths(login, callback string) Option {
	return func(o *options) { o.loginPath, o.callbackPath = login, callback }
}

// AfterLogout sets the path Logout sends the browser to, directly or through
// the provider's end_session_endpoint as post_logout_redirect_uri; default "/".
func AfterLogout(path string) Option { return func(o *options) { o.afterLogoutPath = path } }

// Timeouts sets how long a session lasts without a request (idle, default
// [DefaultIdleTimeout]) and at most since sign-in (absolute, default
// [DefaultAbsoluteTimeout]). Zero keeps a default.
func Timeouts(idle, absolute time.Duration) Option {
	return func(o *options) { o.idle, o.absolute = idle, absolute }
}

// CacheSize bounds how many decoded sessions the Web keeps in memory (default
// [DefaultCacheSize]; the least recently used go first). The cache saves
// decoding a session on every request; the store is still read on every
// request, so a session ended on another replica is refused at once. Zero
// keeps the default; a negative size turns the cache off.
func CacheSize(n int) Option { return func(o *options) { o.cacheSize = n } }

// Clock sets the clock, for tests; nil means time.Now.
func Clock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Logger receives failures the user is not shown in full (a revocation that
// failed at logout, a store error); nil discards them. Secrets are never logged.
func Logger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// ErrorPage replaces the page shown when a sign-in fails or a request is
// refused: status is the HTTP status, err says why and never holds a secret.
// The default writes a short HTML page.
func ErrorPage(f func(w http.ResponseWriter, r *http.Request, status int, err error)) Option {
	return func(o *options) { o.errorPage = f }
}

// Web signs users in to a web app and keeps their sessions. Its handlers and
// middleware are plain http.Handlers, for any router. It is safe for
// concurrent use.
type Web struct {
	base                                     *url.URL
	origin                                   string
	secure                                   bool
	store                                    SessionStore
	providers                                map[string]*provider
	names                                    []string
	loginPath, callbackPath, afterLogoutPath string
	idle, absolute, loginTimeout, touchEvery time.Duration
	now                                      func() time.Time
	logger                                   *slog.Logger
	errorPage                                func(http.ResponseWriter, *http.Request, int, error)
	sessionCookie, loginCookie               string
	crossOrigin                              *http.CrossOriginProtection
	cache                                    *sessionCache
}

// New returns a Web for opts. It discovers the metadata of every provider
// with an issuer, so ctx bounds those requests.
func New(ctx context.Context, opts ...Option) (*Web, error) {
	o := options{loginPath: "/login", callbackPath: "/callback", afterLogoutPath: "/",
		idle: DefaultIdleTimeout, absolute: DefaultAbsoluteTimeout, loginTimeout: DefaultLoginTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.cacheSize == 0 {
		o.cacheSize = DefaultCacheSize
	}
	base, err := url.Parse(o.baseURL)
	switch {
	case o.baseURL == "":
		return nil, errors.New("web: no BaseURL: give the URL the app is served at, such as web.BaseURL(\"http://localhost:8080\")")
	case err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.User != nil:
		return nil, fmt.Errorf("web: BaseURL %q must be an http or https URL without user info", o.baseURL)
	case o.store == nil:
		return nil, errors.New("web: no session Store: open one with web/sqlitesession (one server) or web/redissession (replicas)")
	case len(o.providers) == 0:
		return nil, errors.New("web: no provider: add one with web.WithProvider")
	}
	for _, p := range []string{o.loginPath, o.callbackPath, o.afterLogoutPath} {
		if !strings.HasPrefix(p, "/") || SafeReturnTo(p) != p {
			return nil, fmt.Errorf("web: path %q must be an absolute path on this site", p)
		}
	}
	w := &Web{
		base:            base,
		origin:          base.Scheme + "://" + base.Host,
		secure:          base.Scheme == "https",
		store:           o.store,
		providers:       map[string]*provider{},
		loginPath:       o.loginPath,
		callbackPath:    o.callbackPath,
		afterLogoutPath: o.afterLogoutPath,
		idle:            positive(o.idle, DefaultIdleTimeout),
		absolute:        positive(o.absolute, DefaultAbsoluteTimeout),
		loginTimeout:    positive(o.loginTimeout, DefaultLoginTimeout),
		now:             o.now,
		logger:          o.logger,
		errorPage:       o.errorPage,
		crossOrigin:     http.NewCrossOriginProtection(),
		cache:           newSessionCache(o.cacheSize),
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.logger == nil {
		w.logger = slog.New(slog.DiscardHandler)
	}
	if w.errorPage == nil {
		w.errorPage = defaultErrorPage
	}
	// The last-seen time is written at most this often, not on every request.
	w.touchEvery = min(w.idle/10, time.Minute)
	w.sessionCookie, w.loginCookie = "pixie-session", "pixie-login"
	if w.secure {
		// RFC 6265bis section 4.1.3.2: a __Host- cookie is Secure, host-only
		// and for Path=/, so no other host or path can set or shadow it.
		w.sessionCookie, w.loginCookie = "__Host-"+w.sessionCookie, "__Host-"+w.loginCookie
	}
	if err := w.crossOrigin.AddTrustedOrigin(w.origin); err != nil {
		return nil, fmt.Errorf("web: BaseURL %q: %w", o.baseURL, err)
	}
	for _, p := range o.providers {
		if p.Name == "" {
			return nil, errors.New("web: a provider has no Name")
		}
		if _, dup := w.providers[p.Name]; dup {
			return nil, fmt.Errorf("web: two providers are named %q", p.Name)
		}
		pp, err := w.newProvider(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("web: provider %q: %w", p.Name, err)
		}
		w.providers[p.Name] = pp
		w.names = append(w.names, p.Name)
	}
	return w, nil
}

func positive(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// newProvider discovers p's metadata when it has an issuer and builds its
// client and ID token verifier.
func (w *Web) newProvider(ctx context.Context, p Provider) (*provider, error) {
	cfg := p.Config // a copy: the caller's Config is not changed
	cfg.RedirectURL = w.origin + w.callbackPath
	if cfg.Now == nil {
		cfg.Now = w.now
	}
	pp := &provider{name: p.Name, cfg: &cfg}
	var meta *pixie.Metadata
	if cfg.Endpoint.Issuer != "" {
		d := &pixie.Discovery{HTTPClient: cfg.HTTPClient, AllowInsecureHTTP: cfg.AllowInsecureHTTP, Now: w.now}
		m, err := d.Discover(ctx, cfg.Endpoint.Issuer)
		if err != nil {
			return nil, err
		}
		meta = m
		fillEndpoint(&cfg.Endpoint, m.Endpoint())
		pp.endSession = m.EndSessionEndpoint
		if len(cfg.Scopes) == 0 {
			cfg.Scopes = []string{"openid", "profile", "email"}
		}
	}
	if slices.Contains(cfg.Scopes, "openid") && meta != nil && meta.JWKSURI != "" {
		v, err := oidc.NewVerifierFromMetadata(meta, oidc.VerifierConfig{ClientID: cfg.ClientID, Now: w.now,
			HTTPClient: cfg.HTTPClient, AllowInsecureHTTP: cfg.AllowInsecureHTTP})
		if err != nil {
			return nil, err
		}
		pp.verifier = v
		return pp, nil
	}
	pp.userURL = p.UserURL
	if pp.userURL == "" {
		pp.userURL = cfg.Endpoint.UserinfoURL
	}
	if pp.userURL == "" && strings.HasPrefix(cfg.Endpoint.TokenURL, "https://github.com/") {
		pp.userURL = githubUserURL
	}
	if pp.userURL == "" {
		return nil, errors.New("no way to tell who signed in: give Endpoint.Issuer of an OpenID provider (with the openid scope), or a UserURL")
	}
	return pp, nil
}

// fillEndpoint sets the fields of dst that are empty to those of src.
func fillEndpoint(dst *pixie.Endpoint, src pixie.Endpoint) {
	for _, f := range []struct{ d, s *string }{
		{&dst.AuthURL, &src.AuthURL}, {&dst.TokenURL, &src.TokenURL}, {&dst.DeviceAuthURL, &src.DeviceAuthURL},
		{&dst.RevocationURL, &src.RevocationURL}, {&dst.IntrospectionURL, &src.IntrospectionURL},
		{&dst.UserinfoURL, &src.UserinfoURL}, {&dst.PARURL, &src.PARURL}, {&dst.JWKSURL, &src.JWKSURL},
	} {
		if *f.d == "" {
			*f.d = *f.s
		}
	}
	if len(dst.AuthMethods) == 0 {
		dst.AuthMethods = src.AuthMethods
	}
	dst.IssParameterSupported = dst.IssParameterSupported || src.IssParameterSupported
	dst.RequirePAR = dst.RequirePAR || src.RequirePAR
}

// Providers returns the names of the providers, in the order they were given,
// for a page that offers "Sign in with ..." for each.
func (w *Web) Providers() []string { return slices.Clone(w.names) }

// LoginURL returns the path of Login for provider (empty: the only one)
// that brings the browser back to returnTo afterwards.
func (w *Web) LoginURL(provider, returnTo string) string {
	q := url.Values{}
	if provider != "" {
		q.Set("provider", provider)
	}
	if rt := SafeReturnTo(returnTo); rt != "" {
		q.Set("return_to", rt)
	}
	if len(q) == 0 {
		return w.loginPath
	}
	return w.loginPath + "?" + q.Encode()
}
