package pixie

import "net/http"

// AuthMethod is a client authentication method at the token, revocation,
// introspection and PAR endpoints, named as in the token_endpoint_auth_method
// registry (RFC 7591 section 2, RFC 8414 section 2).
type AuthMethod string

// Client authentication methods.
const (
	// AuthAuto chooses: the first of private_key_jwt (for a Config with a
	// ClientKey), basic, post and client_secret_jwt that the server lists in
	// token_endpoint_auth_methods_supported and the Config can do. When the server
	// lists none it is basic (RFC 8414 section 2 makes it the default), or
	// private_key_jwt for a Config with a ClientKey and no secret; it is none when
	// the Config has no secret and no key.
	AuthAuto AuthMethod = ""
	// ClientSecretBasic sends the id and secret with HTTP Basic authentication,
	// each form-encoded first (RFC 6749 section 2.3.1).
	ClientSecretBasic AuthMethod = "client_secret_basic"
	// ClientSecretPost sends client_id and client_secret in the request body
	// (RFC 6749 section 2.3.1).
	ClientSecretPost AuthMethod = "client_secret_post"
	// ClientSecretJWT sends a JWT assertion signed with the secret using HS256
	// (RFC 7523 section 2.2, OpenID Connect Core section 9).
	ClientSecretJWT AuthMethod = "client_secret_jwt"
	// PrivateKeyJWT sends a JWT assertion signed with the client's private key
	// (RFC 7523 section 2.2, OpenID Connect Core section 9).
	PrivateKeyJWT AuthMethod = "private_key_jwt"
	// TLSClientAuth authenticates with the client certificate of the HTTP
	// client's TLS configuration (RFC 8705 section 2.1); the body carries client_id.
	TLSClientAuth AuthMethod = "tls_client_auth"
	// SelfSignedTLSClientAuth is TLSClientAuth with a self-signed certificate
	// registered with the server (RFC 8705 section 2.2).
	SelfSignedTLSClientAuth AuthMethod = "self_signed_tls_client_auth"
	// AuthNone is a public client: client_id in the body, no secret (RFC 6749
	// section 2.1). Public clients rely on PKCE.
	AuthNone AuthMethod = "none"
)

// Endpoint is where an authorization server's endpoints are and what it supports.
// Fill it by hand, from a provider preset, or from discovery with
// [Metadata.Endpoint].
type Endpoint struct {
	// Issuer is the authorization server's issuer identifier (RFC 8414 section 2).
	// It is the audience of JWT client assertions, and the value the RFC 9207 iss
	// authorization response parameter is checked against.
	Issuer string

	AuthURL          string // authorization_endpoint (RFC 6749 section 3.1)
	TokenURL         string // token_endpoint (RFC 6749 section 3.2)
	DeviceAuthURL    string // device_authorization_endpoint (RFC 8628 section 4)
	RevocationURL    string // revocation_endpoint (RFC 7009, RFC 8414)
	IntrospectionURL string // introspection_endpoint (RFC 7662, RFC 8414)
	UserinfoURL      string // userinfo_endpoint (OpenID Connect Core section 5.3)
	PARURL           string // pushed_authorization_request_endpoint (RFC 9126)
	JWKSURL          string // jwks_uri (RFC 8414 section 2)

	// AuthMethods lists the server's token_endpoint_auth_methods_supported. When
	// empty, [AuthAuto] picks client_secret_basic, or private_key_jwt for a
	// Config with a ClientKey.
	AuthMethods []AuthMethod
	// IssParameterSupported is the server's
	// authorization_response_iss_parameter_supported (RFC 9207 section 3): the
	// authorization response must then carry iss, and it must equal Issuer.
	IssParameterSupported bool
	// RequirePAR is the server's require_pushed_authorization_requests (RFC 9126
	// section 5): authorization requests must be pushed to PARURL first.
	RequirePAR bool

	// Quirks adapts requests to servers that depart from the RFCs.
	Quirks Quirks
}

// Quirks describes a server's departures from the RFCs. Provider presets fill it;
// the zero value is standard behaviour.
type Quirks struct {
	// ScopeSeparator joins scopes in requests. Empty means a space (RFC 6749
	// section 3.3); a few providers want a comma.
	ScopeSeparator string
	// AuthParams are added to every authorization URL, for example Google's
	// access_type=offline, which it requires before it issues a refresh token.
	AuthParams map[string]string
	// Header holds headers sent with every request to the server's endpoints, such
	// as the descriptive User-Agent that Reddit requires.
	Header http.Header
	// NestedTokenField names a member of the token response that holds the token
	// object, as Slack's "authed_user" does for user tokens. When the member is
	// present its fields are used; otherwise the top-level response is.
	NestedTokenField string
}
