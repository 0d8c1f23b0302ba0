// Package devservertest starts a [devserver.Server] for tests and examples: on a
// loopback port, with ready-made clients and a user, closed when the test ends.
// Its Authorize and ApproveDevice play the browser through the server's real
// login, consent and device pages with a [devserver.Browser].
package devservertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"golang.org/x/oauth2"
)

// Server is a running devserver with its ready-made clients and user.
type Server struct {
	*devserver.Server
	// HTTP is the underlying test server.
	HTTP *httptest.Server
	// URL is the issuer and base URL, such as "http://127.0.0.1:41234".
	URL string

	// Confidential authenticates with client_secret_basic and may use every grant.
	Confidential devserver.Client
	// Post authenticates with client_secret_post.
	Post devserver.Client
	// Public is a public client (auth method none) for the authorization code
	// grant with PKCE.
	Public devserver.Client
	// Device is a public client for the device grant.
	Device devserver.Client
	// KeyClient authenticates with private_key_jwt, signing with ClientKey.
	KeyClient devserver.Client
	// ClientKey is KeyClient's ES256 private key; its key ID is ClientKeyID.
	ClientKey   *ecdsa.PrivateKey
	ClientKeyID string
	// User is the account the browser helpers log in as.
	User devserver.User
}

// RedirectURL is the redirect URI registered for the ready-made clients. It is a
// loopback URI, so any port matches (RFC 8252 section 7.3).
const RedirectURL = "http://127.0.0.1/callback"

// Option adjusts the server's options before it starts.
type Option func(*devserver.Options)

// WithAutoApprove sets [devserver.Options.AutoApprove]; it is on by default.
func WithAutoApprove(on bool) Option { return func(o *devserver.Options) { o.AutoApprove = on } }

// sharedKeys are generated once per test binary: RSA key generation is slow.
var sharedKeys = sync.OnceValues(devserver.GenerateSigningKeys)

// NewServer starts a devserver with [Start] and closes it when the test ends. It
// fails the test if the server cannot start.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("devservertest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("devservertest: closing the server: %v", err)
		}
	})
	return s
}

// Start starts a devserver on a 127.0.0.1 port and registers:
//
//   - "confidential" (client_secret_basic, secret "confidential-secret"),
//   - "post" (client_secret_post, secret "post-secret"),
//   - "public" (none), "device" (none, device grant only),
//   - "key-client" (private_key_jwt with ClientKey),
//
// all with [RedirectURL], and the user "alice" with password "wonderland".
// AutoApprove is on unless an option turns it off. Options apply after these
// defaults, so they may add clients or replace any setting. Call [Server.Close]
// when done; tests use [NewServer], which does.
func Start(opts ...Option) (*Server, error) {
	keys, err := sharedKeys()
	if err != nil {
		return nil, err
	}
	ck, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	s := &Server{ClientKey: ck, ClientKeyID: "key-client-1"}
	s.Confidential = devserver.Client{ID: "confidential", Secret: pixie.NewSecret("confidential-secret"),
		AuthMethod: pixie.ClientSecretBasic, RedirectURIs: []string{RedirectURL}}
	s.Post = devserver.Client{ID: "post", Secret: pixie.NewSecret("post-secret"),
		AuthMethod: pixie.ClientSecretPost, RedirectURIs: []string{RedirectURL}}
	s.Public = devserver.Client{ID: "public", AuthMethod: pixie.AuthNone, RedirectURIs: []string{RedirectURL},
		GrantTypes: []string{"authorization_code", "refresh_token"}}
	s.Device = devserver.Client{ID: "device", AuthMethod: pixie.AuthNone,
		GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}}
	s.KeyClient = devserver.Client{ID: "key-client", AuthMethod: pixie.PrivateKeyJWT, RedirectURIs: []string{RedirectURL},
		Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ck.PublicKey, KeyID: s.ClientKeyID, Algorithm: string(jose.ES256), Use: "sig"}}}}
	s.User = devserver.User{Username: "alice", Password: pixie.NewSecret("wonderland"), Name: "Alice Liddell", Email: "alice@example.test"}

	ts := httptest.NewUnstartedServer(nil)
	s.URL = "http://" + ts.Listener.Addr().String()
	o := devserver.Options{
		Issuer:      s.URL,
		Clients:     []devserver.Client{s.Confidential, s.Post, s.Public, s.Device, s.KeyClient},
		Users:       []devserver.User{s.User},
		AutoApprove: true,
		SigningKeys: keys,
	}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := devserver.New(o)
	if err != nil {
		ts.Close()
		return nil, err
	}
	s.Server = srv
	ts.Config.Handler = srv
	ts.Start()
	s.HTTP = ts
	return s, nil
}

// Close stops the listener and closes the server.
func (s *Server) Close() error {
	s.HTTP.Close()
	return s.Server.Close()
}

// Endpoint returns the server's endpoints for a pixie client.
func (s *Server) Endpoint() pixie.Endpoint {
	return pixie.Endpoint{
		Issuer:           s.URL,
		AuthURL:          s.URL + "/authorize",
		TokenURL:         s.URL + "/token",
		DeviceAuthURL:    s.URL + "/device_authorization",
		RevocationURL:    s.URL + "/revoke",
		IntrospectionURL: s.URL + "/introspect",
		UserinfoURL:      s.URL + "/userinfo",
		PARURL:           s.URL + "/par",
		JWKSURL:          s.URL + "/jwks",
		AuthMethods: []pixie.AuthMethod{pixie.ClientSecretBasic, pixie.ClientSecretPost, pixie.AuthNone,
			pixie.ClientSecretJWT, pixie.PrivateKeyJWT},
		IssParameterSupported: true,
	}
}

// Config returns a pixie client configuration for c, one of the server's clients:
// its ID, secret, authentication method, ClientKey for KeyClient, the server's
// endpoints, [RedirectURL] and the test server's HTTP client.
func (s *Server) Config(c devserver.Client) *pixie.Config {
	cfg := &pixie.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		AuthMethod:   c.AuthMethod,
		Endpoint:     s.Endpoint(),
		RedirectURL:  RedirectURL,
		HTTPClient:   s.HTTP.Client(),
	}
	if c.ID == s.KeyClient.ID {
		cfg.ClientKey, cfg.ClientKeyID = s.ClientKey, s.ClientKeyID
	}
	return cfg
}

// OAuth2Endpoint returns the server's endpoints for golang.org/x/oauth2.
func (s *Server) OAuth2Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: s.URL + "/authorize", TokenURL: s.URL + "/token",
		DeviceAuthURL: s.URL + "/device_authorization"}
}

// HTTPClient returns a client for the server.
func (s *Server) HTTPClient() *http.Client { return s.HTTP.Client() }
