package pixie

import (
	"crypto"
	"log/slog"
	"net/http"
	"time"
)

// Config is an OAuth 2.0 client: who it is, how it authenticates, and which server
// it talks to. The grants are methods on *Config: [Config.ClientCredentials],
// [Config.NewAuthRequest] and [Config.Exchange], [Config.DeviceAuth] and
// [Config.DeviceToken], [Config.Refresh], [Config.TokenExchange],
// [Config.JWTBearer], [Config.Revoke] and [Config.Introspect].
//
// A Config must not be modified once in use; it is then safe for concurrent use.
type Config struct {
	// ClientID is the client identifier (RFC 6749 section 2.2).
	ClientID string
	// ClientSecret is the client secret, for client_secret_basic,
	// client_secret_post and client_secret_jwt. Load it with [SecretFromEnv],
	// [SecretFromFile] or [SecretFromCommand].
	ClientSecret Secret
	// AuthMethod is how the client authenticates; [AuthAuto] chooses from the
	// server's advertised methods.
	AuthMethod AuthMethod
	// ClientKey signs private_key_jwt assertions: an *rsa.PrivateKey (RS256), an
	// *ecdsa.PrivateKey (ES256, ES384 or ES512 by curve) or an ed25519.PrivateKey
	// (EdDSA).
	ClientKey crypto.Signer
	// ClientKeyID is the "kid" header of private_key_jwt assertions, naming the
	// key in the client's registered JWKS.
	ClientKeyID string

	// Endpoint locates the server's endpoints.
	Endpoint Endpoint
	// RedirectURL is the redirection endpoint for the authorization code grant
	// (RFC 6749 section 3.1.2).
	RedirectURL string
	// Scopes are requested when a grant is not given other scopes.
	Scopes []string
	// Resources name the protected resources the tokens are for, by absolute
	// URI (RFC 8707 section 2): each is sent as a resource parameter on every
	// authorization, token and refresh request, so that the server mints tokens
	// whose audience is exactly these resources. [ForResource] sets it to the
	// resource identifier of the discovered metadata (RFC 9728 section 2).
	Resources []string
	// UsePAR pushes authorization requests to the server's PAR endpoint (RFC
	// 9126) and sends the browser only a request_uri, so that the request's
	// parameters are authenticated and never cross the browser. It is done
	// regardless when the server requires it ([Endpoint.RequirePAR]).
	UsePAR bool
	// DPoP, when set, binds the tokens the server issues to its key (RFC 9449):
	// token and PAR requests carry a proof, and authorization requests the key's
	// dpop_jkt. Use the same key in [Transport.DPoP] to use the tokens.
	DPoP DPoPProver

	// HTTPClient sends every request. When nil, a client with a 30 second timeout
	// over http.DefaultTransport is used. For mTLS client authentication, set a
	// client whose transport presents the certificate.
	HTTPClient *http.Client
	// AllowInsecureHTTP permits http:// endpoints on hosts other than loopback.
	// Without it such endpoints are refused: credentials would cross the network
	// in the clear.
	AllowInsecureHTTP bool
	// Retry bounds retries of temporary failures at the token endpoint.
	Retry RetryPolicy
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one debug record per exchange with an endpoint, without
	// secrets; nil discards them.
	Logger *slog.Logger
}

// RetryPolicy bounds how token requests are retried after a temporary failure (a
// network error, 5xx, 429): exponential backoff with full jitter, starting at
// BaseDelay and capped at MaxDelay, except that a server's Retry-After is honoured
// when it is no longer than MaxWait. An authorization code is never sent twice.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts including the first; 0 means 3 and 1
	// disables retries.
	MaxAttempts int
	// BaseDelay is the first backoff; 0 means 250ms.
	BaseDelay time.Duration
	// MaxDelay caps a computed backoff; 0 means 5s.
	MaxDelay time.Duration
	// MaxWait caps an honoured Retry-After; a longer one ends the retries and
	// returns the error. 0 means 30s.
	MaxWait time.Duration
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
