package pixie

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// ClientKind says how [ForResource] obtained its client.
type ClientKind string

// How a client was obtained, in the order [ForResource] tries them.
const (
	// ClientGiven is the client ID given in [ResourceOptions.ClientID],
	// registered with the server beforehand.
	ClientGiven ClientKind = "client-id"
	// ClientMetadataDocument is a client ID metadata document URL used as the
	// client ID, without registration.
	ClientMetadataDocument ClientKind = "client-id-metadata-document"
	// ClientStoredRegistration is a dynamic registration kept from an earlier
	// run.
	ClientStoredRegistration ClientKind = "stored-registration"
	// ClientNewRegistration is a client registered dynamically just now (RFC
	// 7591).
	ClientNewRegistration ClientKind = "new-registration"
)

// LoginFunc logs the user in with cfg and returns the token: the authorization
// code grant with PKCE, typically [Config.NewAuthRequest] (with opts), sending
// the user to its URL, receiving the callback at cfg.RedirectURL (which it may
// change to the port it listens on, for a loopback redirect: RFC 8252 section
// 7.3), and [Config.HandleCallback]. opts carry the scopes to ask for; the
// RFC 8707 resource is in cfg.Resources already.
type LoginFunc func(ctx context.Context, cfg *Config, opts ...Option) (*Token, error)

// DefaultRedirectURL is the redirect URI [ForResource] registers when
// [ResourceOptions.RedirectURL] is empty: a loopback URI, so that any port
// matches it (RFC 8252 section 7.3).
const DefaultRedirectURL = "http://127.0.0.1/callback"

// ResourceOptions configure [ForResource]. The zero value is usable, but
// without Login no one can log in.
type ResourceOptions struct {
	// ClientID, when set, is the client to use. A client ID metadata document
	// URL ([IsClientIDMetadataURL]) is used as it is when the server advertises
	// client_id_metadata_document_supported, and otherwise only when neither
	// a stored nor a new registration is possible. Any other value is a client
	// registered beforehand, used as it is.
	ClientID string
	// ClientSecret is the secret of a given ClientID, if it has one.
	ClientSecret Secret
	// ClientName is the client_name to register; "" means "pixie".
	ClientName string
	// RedirectURL is the redirect URI to register and log in with; "" means
	// [DefaultRedirectURL].
	RedirectURL string
	// Scopes are asked for at login. When empty, the scopes of the
	// resource's challenge (from [ResourceOptions.Challenge] or the Transport)
	// are, or else the metadata's scopes_supported, as the MCP authorization
	// specification does.
	Scopes []string
	// Issuer chooses among the authorization servers the metadata lists; ""
	// means the first. A server not listed is refused.
	Issuer string
	// Challenge is the resource server's challenge, when the caller got one:
	// its resource_metadata is used before the well-known location.
	Challenge *Challenge
	// Registrations keeps dynamic registrations, keyed by issuer, so that the
	// client registers once; nil means they are not kept.
	Registrations RegistrationStore
	// InitialAccessToken is sent with a registration when the server requires
	// one (RFC 7591 section 3).
	InitialAccessToken Secret
	// Login logs the user in: see [LoginFunc].
	Login LoginFunc
	// Source configures the token's [Source]. Its Key "" means the resource
	// identifier.
	Source SourceOptions
	// Discovery fetches and caches the metadata; nil means a Discovery with
	// HTTPClient and AllowInsecureHTTP.
	Discovery *Discovery
	// HTTPClient sends every request to the authorization server and the
	// metadata locations; nil means a client with a 30 second timeout.
	HTTPClient *http.Client
	// AllowInsecureHTTP permits http:// URLs on hosts other than loopback.
	AllowInsecureHTTP bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the choices made (server, client) at info level and
	// the exchanges at debug level, without secrets; nil discards them.
	Logger *slog.Logger
}

// ProtectedResource is a protected resource ready to be called: its metadata, the
// authorization server and client chosen for it, and the Source of its tokens.
type ProtectedResource struct {
	// Metadata is the resource's metadata (RFC 9728).
	Metadata *ResourceMetadata
	// Server is the metadata of the authorization server chosen.
	Server *Metadata
	// Config is the client, with Resources set to the resource identifier.
	Config *Config
	// Client says how the client was obtained.
	Client ClientKind
	// Registration is the dynamic registration, for ClientStoredRegistration
	// and ClientNewRegistration.
	Registration *Registration
	// Source supplies the resource's tokens; it holds none until a login
	// unless its Store has one.
	Source *Source

	login  LoginFunc
	logger *slog.Logger
}

// ForResource prepares a client for the protected resource at resourceURL,
// from nothing but that URL:
//
//  1. the resource's metadata (RFC 9728): from Challenge's resource_metadata
//     if given, else from the well-known location ([Discovery.DiscoverResource]),
//     else from the challenge of an unauthenticated request to resourceURL
//     ([Discovery.ResourceFromChallenge]);
//  2. an authorization server it lists (Issuer, or the first), whose metadata
//     is discovered ([Discovery.Discover]);
//  3. a client, the first of: the given ClientID when it is not a metadata
//     document URL; a client ID metadata document URL, when the server
//     supports them; a registration kept in Registrations that has not
//     expired and has RedirectURL; a new registration (RFC 7591, saved to
//     Registrations), if the server has a registration endpoint; the given
//     ClientID. The choice is logged at info level.
//
// The returned ProtectedResource's Config sends the resource identifier as the RFC 8707
// resource parameter on every authorization, token and refresh request, so the
// tokens are minted for this resource alone. ForResource itself does not log
// the user in: call [ProtectedResource.Login], or use [ProtectedResource.HTTPClient], which
// logs in when the resource asks.
func ForResource(ctx context.Context, resourceURL string, opts ResourceOptions) (*ProtectedResource, error) {
	r := &ProtectedResource{login: opts.Login, logger: opts.Logger}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	d := opts.Discovery
	if d == nil {
		d = &Discovery{HTTPClient: opts.HTTPClient, AllowInsecureHTTP: opts.AllowInsecureHTTP, Now: opts.Now}
	}
	var err error
	if r.Metadata, err = discoverResource(ctx, d, resourceURL, &opts); err != nil {
		return nil, err
	}
	issuer, err := chooseServer(r.Metadata, opts.Issuer)
	if err != nil {
		return nil, err
	}
	if r.Server, err = d.Discover(ctx, issuer); err != nil {
		return nil, err
	}
	redirect := opts.RedirectURL
	if redirect == "" {
		redirect = DefaultRedirectURL
	}
	scopes := opts.Scopes
	if len(scopes) == 0 && opts.Challenge != nil {
		scopes = opts.Challenge.Scope
	}
	if len(scopes) == 0 {
		scopes = r.Metadata.ScopesSupported
	}
	r.Config = &Config{
		Endpoint:          r.Server.Endpoint(),
		RedirectURL:       redirect,
		Scopes:            slices.Clone(scopes),
		Resources:         []string{r.Metadata.Resource},
		HTTPClient:        opts.HTTPClient,
		AllowInsecureHTTP: opts.AllowInsecureHTTP,
		Now:               opts.Now,
		Logger:            opts.Logger,
	}
	if err := r.chooseClient(ctx, &opts); err != nil {
		return nil, err
	}
	r.logger.LogAttrs(ctx, slog.LevelInfo, "pixie: client for protected resource",
		slog.String("resource", r.Metadata.Resource), slog.String("issuer", r.Server.Issuer),
		slog.String("client", string(r.Client)), slog.String("client_id", r.Config.ClientID))
	so := opts.Source
	if so.Key == "" {
		so.Key = r.Metadata.Resource
	}
	if so.Now == nil {
		so.Now = opts.Now
	}
	if so.Logger == nil {
		so.Logger = opts.Logger
	}
	r.Source = r.Config.RefreshSource(so)
	return r, nil
}

// discoverResource finds the resource's metadata: from the given challenge,
// the well-known location, or the challenge of an unauthenticated request.
func discoverResource(ctx context.Context, d *Discovery, resourceURL string, opts *ResourceOptions) (*ResourceMetadata, error) {
	if ch := opts.Challenge; ch != nil && ch.ResourceMetadata != "" {
		return d.ResourceFromChallenge(ctx, resourceURL, ch)
	}
	m, err := d.DiscoverResource(ctx, resourceURL)
	if !errors.Is(err, errNotHere) {
		return m, err
	}
	ch, perr := probeChallenge(ctx, d, resourceURL)
	if perr != nil {
		return nil, fmt.Errorf("%w; asking the resource for a challenge: %w", err, perr)
	}
	if opts.Challenge == nil {
		opts.Challenge = ch
	}
	return d.ResourceFromChallenge(ctx, resourceURL, ch)
}

// probeChallenge sends an unauthenticated GET to resourceURL and returns the
// challenge of its 401 that names the resource's metadata (RFC 9728 section 5).
func probeChallenge(ctx context.Context, d *Discovery, resourceURL string) (*Challenge, error) {
	if err := wire.CheckURL(resourceURL, d.AllowInsecureHTTP); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resourceURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := wire.GuardRedirects(d.HTTPClient, d.AllowInsecureHTTP).Do(req)
	if err != nil {
		return nil, err
	}
	discard(resp)
	ch := findChallenge(resp.Header, func(c *Challenge) bool { return c.ResourceMetadata != "" })
	if resp.StatusCode != http.StatusUnauthorized || ch == nil {
		return nil, fmt.Errorf("%s answered HTTP %d without a resource_metadata challenge (RFC 9728 section 5.1)", redactedURL(resourceURL), resp.StatusCode)
	}
	return ch, nil
}

// chooseServer returns issuer if m lists it, or m's first authorization
// server when issuer is "".
func chooseServer(m *ResourceMetadata, issuer string) (string, error) {
	if len(m.AuthorizationServers) == 0 {
		return "", fmt.Errorf("pixie: protected resource %s lists no authorization server (authorization_servers, RFC 9728 section 2)", m.Resource)
	}
	if issuer == "" {
		return m.AuthorizationServers[0], nil
	}
	if !slices.Contains(m.AuthorizationServers, issuer) {
		return "", fmt.Errorf("pixie: authorization server %s is not one protected resource %s lists (%s); refusing to use it", issuer, m.Resource, strings.Join(m.AuthorizationServers, ", "))
	}
	return issuer, nil
}

// chooseClient sets the client of r.Config, in the order ForResource
// documents.
func (r *ProtectedResource) chooseClient(ctx context.Context, opts *ResourceOptions) error {
	cfg, srv := r.Config, r.Server
	now := cfg.now()
	isDoc := opts.ClientID != "" && checkClientIDURL(opts.ClientID, opts.AllowInsecureHTTP) == nil
	switch {
	case opts.ClientID != "" && !isDoc:
		r.Client, cfg.ClientID, cfg.ClientSecret = ClientGiven, opts.ClientID, opts.ClientSecret
		return nil
	case isDoc && srv.ClientIDMetadataDocumentSupported:
		r.Client, cfg.ClientID, cfg.AuthMethod = ClientMetadataDocument, opts.ClientID, AuthNone
		return nil
	}
	if st := opts.Registrations; st != nil {
		reg, err := st.LoadRegistration(ctx, srv.Issuer)
		switch {
		case err == nil && reg.fits(srv.Issuer, cfg.RedirectURL, now):
			r.useRegistration(ClientStoredRegistration, reg)
			return nil
		case err == nil && reg.Expired(now):
			r.logger.LogAttrs(ctx, slog.LevelInfo, "pixie: the stored client registration has expired; registering again",
				slog.String("issuer", srv.Issuer), slog.String("client_id", reg.ClientID), slog.Time("expired", reg.SecretExpiresAt))
		case err == nil:
			r.logger.LogAttrs(ctx, slog.LevelInfo, "pixie: the stored client registration does not have this redirect URI; registering again",
				slog.String("issuer", srv.Issuer), slog.String("redirect_uri", cfg.RedirectURL))
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("pixie: reading the stored client registration: %w", err)
		}
	}
	if srv.RegistrationEndpoint != "" {
		name := opts.ClientName
		if name == "" {
			name = "pixie"
		}
		g := &Registrar{HTTPClient: opts.HTTPClient, InitialAccessToken: opts.InitialAccessToken,
			AllowInsecureHTTP: opts.AllowInsecureHTTP, Now: opts.Now, Logger: opts.Logger}
		reg, err := g.Register(ctx, srv, ClientMetadata{
			ClientName:              name,
			RedirectURIs:            []string{cfg.RedirectURL},
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: AuthNone,
		})
		if err != nil && opts.ClientID == "" {
			return fmt.Errorf("pixie: registering a client with %s: %w", srv.Issuer, err)
		}
		if err == nil {
			if opts.Registrations != nil {
				if err := opts.Registrations.SaveRegistration(ctx, srv.Issuer, reg); err != nil {
					return fmt.Errorf("pixie: saving the client registration: %w", err)
				}
			}
			r.useRegistration(ClientNewRegistration, reg)
			return nil
		}
	}
	if opts.ClientID != "" {
		r.Client, cfg.ClientID, cfg.ClientSecret = ClientGiven, opts.ClientID, opts.ClientSecret
		return nil
	}
	return fmt.Errorf("pixie: no client for %s: it supports neither client ID metadata documents nor dynamic registration (RFC 7591); give a client ID registered with it", srv.Issuer)
}

func (r *ProtectedResource) useRegistration(kind ClientKind, reg *Registration) {
	r.Client, r.Registration = kind, reg
	r.Config.ClientID, r.Config.ClientSecret = reg.ClientID, reg.ClientSecret
	r.Config.AuthMethod = reg.Metadata.TokenEndpointAuthMethod
}

// Login logs the user in with the Login function of the options, for scopes
// (none: Config.Scopes), and puts the token into Source, replacing any.
func (r *ProtectedResource) Login(ctx context.Context, scopes ...string) (*Token, error) {
	if r.login == nil {
		return nil, fmt.Errorf("pixie: protected resource %s needs a login, and no Login function is configured (ResourceOptions.Login)", r.Metadata.Resource)
	}
	var opts []Option
	if len(scopes) > 0 {
		opts = append(opts, Scopes(scopes...))
	}
	cfg := *r.Config // the login may set its redirect port
	tok, err := r.login(ctx, &cfg, opts...)
	if err != nil {
		return nil, err
	}
	if err := r.Source.Put(ctx, tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// Transport returns a [Transport] for the resource over base (nil:
// http.DefaultTransport), which logs in with [ProtectedResource.Login] when the
// resource asks for a token it does not have, or for more scopes (step-up).
func (r *ProtectedResource) Transport(base http.RoundTripper) *Transport {
	return &Transport{Source: r.Source, Base: base, DPoP: r.Config.DPoP,
		Login: func(ctx context.Context, _ *Challenge, scopes []string) error {
			_, err := r.Login(ctx, scopes...)
			return err
		}}
}

// HTTPClient returns an *http.Client whose requests carry the resource's
// tokens, through [ProtectedResource.Transport].
func (r *ProtectedResource) HTTPClient() *http.Client {
	return &http.Client{Transport: r.Transport(nil)}
}
