package devserver

import (
	"net/http"
)

// Endpoint paths, relative to the issuer.
const (
	pathOAuthMetadata = "/.well-known/oauth-authorization-server"
	pathOIDCMetadata  = "/.well-known/openid-configuration"
	pathJWKS          = "/jwks"
	pathAuthorize     = "/authorize"
	pathLogin         = "/login"
	pathConsent       = "/consent"
	pathToken         = "/token"
	pathDeviceAuth    = "/device_authorization"
	pathDevice        = "/device"
	pathRevoke        = "/revoke"
	pathIntrospect    = "/introspect"
	pathUserinfo      = "/userinfo"
	pathPAR           = "/par"
	pathRegister      = "/register"
	pathEndSession    = "/end_session"
	pathMetrics       = "/metrics"
	pathAdmin         = "/admin/"
)

// Grant type identifiers (RFC 6749, RFC 8628, RFC 8693, RFC 7523).
const (
	grantAuthorizationCode = "authorization_code"
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantPassword          = "password"
)

// grantTypes returns the grant types the server supports, in a stable order.
func (s *Server) grantTypes() []string {
	g := []string{grantAuthorizationCode, grantClientCredentials, grantRefreshToken,
		grantDeviceCode, grantTokenExchange, grantJWTBearer}
	if s.opts.EnablePassword {
		g = append(g, grantPassword)
	}
	return g
}

// authMethods are the supported client authentication methods.
var authMethods = []string{"client_secret_basic", "client_secret_post", "none", "client_secret_jwt", "private_key_jwt"}

// introspectionAuthMethods are the methods the introspection endpoint accepts:
// all but none, as it must require authorization (RFC 7662 section 2.1).
var introspectionAuthMethods = []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"}

// Metadata returns the server's authorization server metadata (RFC 8414 section 2),
// which also serves as its OpenID Connect Discovery document. It advertises exactly
// what the server supports.
func (s *Server) Metadata() map[string]any {
	endpointAuth := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}
	return map[string]any{
		"issuer":                                s.issuer,
		"authorization_endpoint":                s.url(pathAuthorize),
		"token_endpoint":                        s.url(pathToken),
		"device_authorization_endpoint":         s.url(pathDeviceAuth),
		"revocation_endpoint":                   s.url(pathRevoke),
		"introspection_endpoint":                s.url(pathIntrospect),
		"userinfo_endpoint":                     s.url(pathUserinfo),
		"pushed_authorization_request_endpoint": s.url(pathPAR),
		"registration_endpoint":                 s.url(pathRegister),
		"end_session_endpoint":                  s.url(pathEndSession),
		"jwks_uri":                              s.url(pathJWKS),

		"response_types_supported":                                 []string{"code"},
		"response_modes_supported":                                 []string{"query"},
		"grant_types_supported":                                    s.grantTypes(),
		"scopes_supported":                                         []string{"openid", "profile", "email", "offline_access"},
		"code_challenge_methods_supported":                         []string{"S256"},
		"token_endpoint_auth_methods_supported":                    authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         endpointAuth,
		"revocation_endpoint_auth_methods_supported":               authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    endpointAuth,
		"introspection_endpoint_auth_methods_supported":            introspectionAuthMethods,
		"introspection_endpoint_auth_signing_alg_values_supported": endpointAuth,
		"authorization_response_iss_parameter_supported":           true,
		"require_pushed_authorization_requests":                    false,
		"client_id_metadata_document_supported":                    true,
		"request_parameter_supported":                              false,
		"request_uri_parameter_supported":                          false,
		"dpop_signing_alg_values_supported":                        dpopAlgNames(),
		"subject_types_supported":                                  []string{"public"},
		"id_token_signing_alg_values_supported":                    []string{"RS256"},
		"claims_supported":                                         []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "name", "preferred_username", "email"},
		"prompt_values_supported":                                  []string{"none", "login", "consent"},
	}
}

func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	writeJSONBody(w, http.StatusOK, s.Metadata())
}
