package provider

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pixieauth/pixie"
)

// Microsoft returns the endpoints of the Microsoft identity platform (Microsoft
// Entra ID, v2.0 endpoints) for tenant, including device authorization (RFC
// 8628). tenant is one of:
//
//   - a tenant ID, a GUID such as "72f988bf-86f1-41af-91ab-2d7cd011db47": the
//     preset sets Issuer to https://login.microsoftonline.com/{tenant}/v2.0;
//   - a verified domain of the tenant, such as "contoso.onmicrosoft.com": the
//     endpoints work, but tokens name the tenant by its ID, so Issuer is empty;
//   - "common", "organizations" or "consumers": multi-tenant endpoints that
//     have no single issuer, so Issuer is empty and an ID token's issuer must be
//     checked against its tid claim by the application.
//
// The identity platform has no RFC 7009 revocation endpoint, so RevocationURL is
// empty. A refresh token is issued only when the offline_access scope is
// requested.
func Microsoft(tenant string) (pixie.Endpoint, error) {
	t := strings.ToLower(tenant)
	var issuer string
	switch {
	case tenant == "":
		return pixie.Endpoint{}, fmt.Errorf("provider: microsoft tenant is required: a tenant ID (GUID), a verified domain such as %q, or common, organizations or consumers", "contoso.onmicrosoft.com")
	case t == "common", t == "organizations", t == "consumers":
	case isGUID(t):
		issuer = "https://login.microsoftonline.com/" + t + "/v2.0"
	case strings.Contains(t, ".") && !strings.Contains(t, ":"):
		if err := checkHost("microsoft tenant", "contoso.onmicrosoft.com", t); err != nil {
			return pixie.Endpoint{}, err
		}
	default:
		return pixie.Endpoint{}, fmt.Errorf("provider: microsoft tenant %q is not a tenant ID (GUID), a verified domain such as %q, or common, organizations or consumers", tenant, "contoso.onmicrosoft.com")
	}
	base := "https://login.microsoftonline.com/" + t
	return pixie.Endpoint{
		Issuer:        issuer,
		AuthURL:       base + "/oauth2/v2.0/authorize",
		TokenURL:      base + "/oauth2/v2.0/token",
		DeviceAuthURL: base + "/oauth2/v2.0/devicecode",
		UserinfoURL:   "https://graph.microsoft.com/oidc/userinfo",
		JWKSURL:       base + "/discovery/v2.0/keys",
	}, nil
}

// isGUID reports whether s is a lower-case GUID in its 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// GitLab returns the endpoints of GitLab at baseURL, the root URL of a
// self-managed instance (which may include a relative URL root, such as
// "https://example.com/gitlab"); an empty baseURL means https://gitlab.com. The
// instance is its own issuer, and offers device authorization (RFC 8628),
// revocation (RFC 7009) and introspection (RFC 7662).
func GitLab(baseURL string) (pixie.Endpoint, error) {
	if baseURL == "" {
		baseURL = "https://gitlab.com"
	}
	base, err := parseBaseURL("gitlab base URL", "https://gitlab.example.com", baseURL)
	if err != nil {
		return pixie.Endpoint{}, err
	}
	return pixie.Endpoint{
		Issuer:           base,
		AuthURL:          base + "/oauth/authorize",
		TokenURL:         base + "/oauth/token",
		DeviceAuthURL:    base + "/oauth/authorize_device",
		RevocationURL:    base + "/oauth/revoke",
		IntrospectionURL: base + "/oauth/introspect",
		UserinfoURL:      base + "/oauth/userinfo",
		JWKSURL:          base + "/oauth/discovery/keys",
	}, nil
}

// Auth0 returns the endpoints of the Auth0 tenant at domain, a host name such as
// "example.us.auth0.com" or a custom domain, including device authorization (RFC
// 8628) and revocation (RFC 7009). Auth0's issuer identifier ends with a slash,
// "https://{domain}/", and the preset keeps it so that it compares equal to the
// iss claim of Auth0's tokens.
func Auth0(domain string) (pixie.Endpoint, error) {
	if err := checkHost("auth0 domain", "example.us.auth0.com", domain); err != nil {
		return pixie.Endpoint{}, err
	}
	base := "https://" + domain
	return pixie.Endpoint{
		Issuer:        base + "/",
		AuthURL:       base + "/authorize",
		TokenURL:      base + "/oauth/token",
		DeviceAuthURL: base + "/oauth/device/code",
		RevocationURL: base + "/oauth/revoke",
		UserinfoURL:   base + "/userinfo",
		JWKSURL:       base + "/.well-known/jwks.json",
	}, nil
}

// Okta returns the endpoints of an Okta authorization server at domain, a host
// name such as "example.okta.com". An empty authServerID selects the org
// authorization server (issuer https://{domain}); otherwise it names a custom
// authorization server, such as "default" (issuer
// https://{domain}/oauth2/{authServerID}). Both offer device authorization (RFC
// 8628), revocation (RFC 7009) and introspection (RFC 7662).
func Okta(domain, authServerID string) (pixie.Endpoint, error) {
	if err := checkHost("okta domain", "example.okta.com", domain); err != nil {
		return pixie.Endpoint{}, err
	}
	issuer := "https://" + domain
	if authServerID != "" {
		for _, c := range authServerID {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return pixie.Endpoint{}, fmt.Errorf("provider: okta authorization server ID %q must be letters and digits only, such as %q", authServerID, "default")
			}
		}
		issuer += "/oauth2/" + authServerID
	}
	base := issuer + "/v1"
	if authServerID == "" {
		base = issuer + "/oauth2/v1"
	}
	return pixie.Endpoint{
		Issuer:           issuer,
		AuthURL:          base + "/authorize",
		TokenURL:         base + "/token",
		DeviceAuthURL:    base + "/device/authorize",
		RevocationURL:    base + "/revoke",
		IntrospectionURL: base + "/introspect",
		UserinfoURL:      base + "/userinfo",
		JWKSURL:          base + "/keys",
	}, nil
}

// Keycloak returns the endpoints of realm on the Keycloak server at baseURL, the
// server's root URL without "/realms" (Keycloak versions before 17 served under
// "/auth", which then belongs in baseURL). The realm is its own issuer,
// {baseURL}/realms/{realm}, and offers every endpoint pixie uses: device
// authorization (RFC 8628), revocation (RFC 7009), introspection (RFC 7662) and
// pushed authorization requests (RFC 9126).
//
// Keycloak has sent the RFC 9207 iss parameter in authorization responses since
// version 22, so the preset sets IssParameterSupported; clear it for older
// servers.
func Keycloak(baseURL, realm string) (pixie.Endpoint, error) {
	base, err := parseBaseURL("keycloak base URL", "https://sso.example.com", baseURL)
	if err != nil {
		return pixie.Endpoint{}, err
	}
	if strings.Contains(base+"/", "/realms/") {
		return pixie.Endpoint{}, fmt.Errorf("provider: keycloak base URL %q must not include /realms/; pass the server's root URL and the realm separately", baseURL)
	}
	if err := checkPathSegment("keycloak realm", realm); err != nil {
		return pixie.Endpoint{}, err
	}
	issuer := base + "/realms/" + url.PathEscape(realm)
	oidc := issuer + "/protocol/openid-connect"
	return pixie.Endpoint{
		Issuer:                issuer,
		AuthURL:               oidc + "/auth",
		TokenURL:              oidc + "/token",
		DeviceAuthURL:         oidc + "/auth/device",
		RevocationURL:         oidc + "/revoke",
		IntrospectionURL:      oidc + "/token/introspect",
		UserinfoURL:           oidc + "/userinfo",
		PARURL:                oidc + "/ext/par/request",
		JWKSURL:               oidc + "/certs",
		IssParameterSupported: true,
	}, nil
}

// Salesforce returns the endpoints of Salesforce at domain: "login.salesforce.com"
// (the default when domain is empty), "test.salesforce.com" for sandboxes, or an
// org's My Domain such as "example.my.salesforce.com". The domain is its own
// issuer, and offers revocation (RFC 7009) and introspection (RFC 7662).
//
// Salesforce's device flow posts to the token endpoint with a non-standard
// response_type rather than to an RFC 8628 device authorization endpoint, so
// DeviceAuthURL is empty.
func Salesforce(domain string) (pixie.Endpoint, error) {
	if domain == "" {
		domain = "login.salesforce.com"
	}
	if err := checkHost("salesforce domain", "example.my.salesforce.com", domain); err != nil {
		return pixie.Endpoint{}, err
	}
	base := "https://" + domain
	return pixie.Endpoint{
		Issuer:           base,
		AuthURL:          base + "/services/oauth2/authorize",
		TokenURL:         base + "/services/oauth2/token",
		RevocationURL:    base + "/services/oauth2/revoke",
		IntrospectionURL: base + "/services/oauth2/introspect",
		UserinfoURL:      base + "/services/oauth2/userinfo",
		JWKSURL:          base + "/id/keys",
	}, nil
}

// Dev returns the endpoints of pixie's own development server (package
// devserver) running with issuerURL as its issuer, such as
// "http://127.0.0.1:8080"; a trailing slash is removed, as the devserver removes
// it. The devserver serves every endpoint pixie uses and sends the RFC 9207 iss
// parameter, so IssParameterSupported is set.
func Dev(issuerURL string) (pixie.Endpoint, error) {
	issuer, err := parseBaseURL("dev issuer URL", "http://127.0.0.1:8080", issuerURL)
	if err != nil {
		return pixie.Endpoint{}, err
	}
	return pixie.Endpoint{
		Issuer:                issuer,
		AuthURL:               issuer + "/authorize",
		TokenURL:              issuer + "/token",
		DeviceAuthURL:         issuer + "/device_authorization",
		RevocationURL:         issuer + "/revoke",
		IntrospectionURL:      issuer + "/introspect",
		UserinfoURL:           issuer + "/userinfo",
		PARURL:                issuer + "/par",
		JWKSURL:               issuer + "/jwks",
		IssParameterSupported: true,
	}, nil
}
