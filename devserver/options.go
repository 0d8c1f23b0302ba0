package devserver

import (
	"log/slog"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
)

// Options configures a [Server]. The zero value of every field has a documented
// default; only Issuer is required.
type Options struct {
	// Issuer is the server's issuer identifier and base URL (RFC 8414 section 2),
	// such as "http://127.0.0.1:9000". Endpoint URLs are Issuer plus a path.
	Issuer string
	// Clients are the registered clients.
	Clients []Client
	// Users are the accounts that can log in. When empty, one user "dev" with
	// password "dev" is registered.
	Users []User
	// TrustedIssuers are the issuers whose JWT assertions the JWT bearer grant
	// (RFC 7523 section 2.1) accepts, besides assertions a client signs with its
	// own registered keys.
	TrustedIssuers []TrustedIssuer

	// AccessTokenFormat selects JWT (RFC 9068, the default) or opaque access tokens.
	AccessTokenFormat TokenFormat
	// AccessTokenTTL is the access token lifetime; 0 means one hour.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the refresh token lifetime; 0 means 30 days.
	RefreshTokenTTL time.Duration
	// RotationGracePeriod is how long after a refresh token is rotated out it
	// may still be presented once more, as long as its successor has not been
	// used: the client gets new tokens instead of the revocation of the whole
	// grant, so a client that crashed after the server rotated but before it
	// saved the successor does not lose the grant. 0 (the default) disables it:
	// every replay revokes the grant (RFC 9700 section 4.14.2). See
	// grant_refresh.go for the exact rule.
	RotationGracePeriod time.Duration
	// IDTokenTTL is the ID token lifetime; 0 means one hour.
	IDTokenTTL time.Duration
	// CodeTTL is the authorization code lifetime; 0 means one minute.
	CodeTTL time.Duration
	// DeviceCodeTTL is the device code lifetime; 0 means ten minutes.
	DeviceCodeTTL time.Duration
	// DeviceInterval is the minimum polling interval of the device grant
	// (RFC 8628 section 3.2), a whole number of seconds; 0 means five seconds.
	DeviceInterval time.Duration
	// KeyRetention is how long a rotated-out signing key stays published in the
	// JWKS; 0 means one day.
	KeyRetention time.Duration

	// AutoApprove skips the login and consent pages: authorization requests are
	// approved for the first user and still answered with a redirect carrying
	// code, state and iss; opening the device verification URI with a user_code
	// approves it.
	AutoApprove bool
	// EnablePassword enables the resource owner password credentials grant
	// (RFC 6749 section 4.3), which OAuth 2.1 removes.
	EnablePassword bool
	// RequireDPoPNonce makes the token endpoint demand a server nonce in DPoP
	// proofs (RFC 9449 section 8).
	RequireDPoPNonce bool
	// ProtectedResources serves a demo protected API at /api (with /api/admin
	// needing the admin scope) and RFC 9728 metadata for it and for userinfo
	// at /.well-known/oauth-protected-resource/api and .../userinfo; their 401
	// challenges then name that metadata (resource_metadata). See resource.go.
	ProtectedResources bool
	// RegistrationSecretTTL is the lifetime of the client secrets issued by
	// dynamic registration (client_secret_expires_at, RFC 7591 section
	// 3.2.1); 0 means they do not expire.
	RegistrationSecretTTL time.Duration

	// SigningKeys are the private keys that sign tokens, each with a key ID and an
	// algorithm (RS256 or ES256). When empty, an RS256 and an ES256 key are
	// generated. RS256 is used for ID tokens and JWT access tokens.
	SigningKeys []jose.JSONWebKey

	// StatePath, when set, is a SQLite database file (created with mode 0600)
	// that keeps registered clients, issued access and refresh tokens and the
	// signing keys, so a restarted server accepts the tokens it issued, publishes
	// the same keys, and knows dynamically registered clients. Clients in
	// Options replace saved ones with the same ID. Empty keeps all in memory.
	// Call [Server.Close] when done.
	StatePath string

	// AdminToken, when set, is the bearer token (RFC 6750) that every request
	// of the admin API (/admin/*) must carry. Without it the admin API needs
	// no authentication, which is safe only on loopback.
	AdminToken pixie.Secret
	// RegistrationToken, when set, is the initial access token (RFC 7591
	// section 3) that dynamic client registration requests must carry as a
	// bearer token. Without it anyone who reaches the server may register
	// clients, which is safe only on loopback.
	RegistrationToken pixie.Secret

	// Faults are injected from the start; change them later with
	// [Server.SetFaults] or PUT /admin/faults.
	Faults Faults
	// Now is the clock; nil means time.Now. [Faults.ClockOffset] is added to it.
	Now func() time.Time
	// Logger receives one record per request, without secrets; nil discards them.
	Logger *slog.Logger
}

// TokenFormat is the format of issued access tokens.
type TokenFormat string

// Access token formats.
const (
	// FormatJWT issues RFC 9068 JWT access tokens signed with RS256.
	FormatJWT TokenFormat = "jwt"
	// FormatOpaque issues random strings that only introspection can read.
	FormatOpaque TokenFormat = "opaque"
)

// Client is a registered client (RFC 6749 section 2).
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret of a confidential client using
	// client_secret_basic, client_secret_post or client_secret_jwt.
	Secret pixie.Secret
	// AuthMethod is the one authentication method the client may use. When empty
	// it is client_secret_basic for a client with a Secret, private_key_jwt for a
	// client with only Keys, and none otherwise.
	AuthMethod pixie.AuthMethod
	// RedirectURIs are the registered redirection endpoints, compared exactly,
	// except that the port of a loopback IP literal is ignored (RFC 8252
	// section 7.3).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the end_session_endpoint may send the
	// browser after signing out (OpenID Connect RP-Initiated Logout 1.0
	// section 3.1), compared exactly; none means it never redirects.
	PostLogoutRedirectURIs []string
	// GrantTypes lists the grant types the client may use; empty allows every
	// grant the server supports.
	GrantTypes []string
	// Scopes lists the scopes the client may request; empty allows any scope.
	Scopes []string
	// Keys are the client's public keys, for private_key_jwt and for JWT bearer
	// assertions it signs itself.
	Keys jose.JSONWebKeySet
	// Name is a display name shown on the consent page.
	Name string
	// SecretExpiresAt is when Secret stops authenticating the client; zero
	// means never.
	SecretExpiresAt time.Time

	// registrationToken is the digest (tokenKey) of the registration access
	// token of a dynamically registered client (RFC 7592).
	registrationToken string
	// fetchedUntil is when the client ID metadata document this client was
	// read from must be fetched again; zero for a registered client.
	fetchedUntil time.Time
}

// User is an account that can log in.
type User struct {
	// Username is what the user types on the login page.
	Username string
	// Password is the user's password.
	Password pixie.Secret
	// Subject is the "sub" claim; empty means Username.
	Subject string
	// Name and Email are returned by userinfo and in ID tokens for the profile and
	// email scopes.
	Name  string
	Email string
}

// TrustedIssuer is a JWT issuer whose assertions the JWT bearer grant accepts.
type TrustedIssuer struct {
	// Issuer is the "iss" claim of its assertions.
	Issuer string
	// Keys verify its assertions.
	Keys jose.JSONWebKeySet
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.AccessTokenTTL, time.Hour)
	def(&o.RefreshTokenTTL, 30*24*time.Hour)
	def(&o.IDTokenTTL, time.Hour)
	def(&o.CodeTTL, time.Minute)
	def(&o.DeviceCodeTTL, 10*time.Minute)
	def(&o.DeviceInterval, 5*time.Second)
	def(&o.KeyRetention, 24*time.Hour)
	if o.AccessTokenFormat == "" {
		o.AccessTokenFormat = FormatJWT
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Users) == 0 {
		o.Users = []User{{Username: "dev", Password: pixie.NewSecret("dev")}}
	}
}
