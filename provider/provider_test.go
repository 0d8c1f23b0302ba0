package provider_test

import (
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/provider"
)

const guid = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// presets builds every preset directly, with the parameters in lookupParams.
var presets = map[string]func() (pixie.Endpoint, error){
	"bitbucket":  noErr(provider.Bitbucket),
	"discord":    noErr(provider.Discord),
	"dropbox":    noErr(provider.Dropbox),
	"github":     noErr(provider.GitHub),
	"google":     noErr(provider.Google),
	"linkedin":   noErr(provider.LinkedIn),
	"reddit":     noErr(provider.Reddit),
	"slack":      noErr(provider.Slack),
	"spotify":    noErr(provider.Spotify),
	"microsoft":  func() (pixie.Endpoint, error) { return provider.Microsoft(guid) },
	"gitlab":     func() (pixie.Endpoint, error) { return provider.GitLab("") },
	"auth0":      func() (pixie.Endpoint, error) { return provider.Auth0("example.us.auth0.com") },
	"okta":       func() (pixie.Endpoint, error) { return provider.Okta("example.okta.com", "default") },
	"keycloak":   func() (pixie.Endpoint, error) { return provider.Keycloak("https://sso.example.com", "staff") },
	"salesforce": func() (pixie.Endpoint, error) { return provider.Salesforce("") },
	"dev":        func() (pixie.Endpoint, error) { return provider.Dev("https://127.0.0.1:8443/") },
}

// lookupParams are the Lookup parameters matching presets.
var lookupParams = map[string]provider.Params{
	"microsoft": {"tenant": guid},
	"auth0":     {"domain": "example.us.auth0.com"},
	"okta":      {"domain": "example.okta.com", "auth_server": "default"},
	"keycloak":  {"base_url": "https://sso.example.com", "realm": "staff"},
	"dev":       {"issuer": "https://127.0.0.1:8443/"},
}

func noErr(f func() pixie.Endpoint) func() (pixie.Endpoint, error) {
	return func() (pixie.Endpoint, error) { return f(), nil }
}

func mustBuild(tb testing.TB, name string) pixie.Endpoint {
	tb.Helper()
	e, err := presets[name]()
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return e
}

// endpointURLs returns the URL fields of e by name, empty ones included.
func endpointURLs(e pixie.Endpoint) map[string]string {
	return map[string]string{
		"Issuer":           e.Issuer,
		"AuthURL":          e.AuthURL,
		"TokenURL":         e.TokenURL,
		"DeviceAuthURL":    e.DeviceAuthURL,
		"RevocationURL":    e.RevocationURL,
		"IntrospectionURL": e.IntrospectionURL,
		"UserinfoURL":      e.UserinfoURL,
		"PARURL":           e.PARURL,
		"JWKSURL":          e.JWKSURL,
	}
}

func TestNamesCoverEveryPreset(t *testing.T) {
	if got, want := provider.Names(), slices.Sorted(maps.Keys(presets)); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestLookupRoundTrip(t *testing.T) {
	for _, name := range provider.Names() {
		t.Run(name, func(t *testing.T) {
			want := mustBuild(t, name)
			for _, n := range []string{name, strings.ToUpper(name)} {
				got, err := provider.Lookup(n, lookupParams[name])
				if err != nil {
					t.Fatalf("Lookup(%q): %v", n, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Lookup(%q) = %+v, want %+v", n, got, want)
				}
			}
		})
	}
}

func TestURLsAreHTTPS(t *testing.T) {
	for _, name := range provider.Names() {
		t.Run(name, func(t *testing.T) {
			e := mustBuild(t, name)
			if e.AuthURL == "" || e.TokenURL == "" {
				t.Errorf("AuthURL = %q, TokenURL = %q; both are required", e.AuthURL, e.TokenURL)
			}
			for field, raw := range endpointURLs(e) {
				if raw == "" {
					continue
				}
				u, err := url.Parse(raw)
				if err != nil {
					t.Errorf("%s %q: %v", field, raw, err)
					continue
				}
				if u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
					t.Errorf("%s = %q; want an https URL with a host and no query, fragment or user info", field, raw)
				}
			}
		})
	}
}

func TestQuirks(t *testing.T) {
	tests := []struct {
		name                string
		authMethods         []pixie.AuthMethod
		scopeSeparator      string
		authParams          map[string]string
		header              map[string]string
		nestedTokenField    string
		issParameterSupport bool
	}{
		{name: "github", authMethods: []pixie.AuthMethod{pixie.ClientSecretPost}, header: map[string]string{"Accept": "application/json"}},
		{name: "google", authParams: map[string]string{"access_type": "offline", "prompt": "consent"}},
		{name: "slack", scopeSeparator: ",", nestedTokenField: "authed_user"},
		{name: "bitbucket"},
		{name: "discord", issParameterSupport: true},
		{name: "dropbox", authParams: map[string]string{"token_access_type": "offline"}},
		{name: "spotify"},
		{name: "reddit", authMethods: []pixie.AuthMethod{pixie.ClientSecretBasic}, authParams: map[string]string{"duration": "permanent"},
			header: map[string]string{"User-Agent": "pixie (+https://github.com/pixieauth/pixie)"}},
		{name: "linkedin", authMethods: []pixie.AuthMethod{pixie.ClientSecretPost}},
		{name: "microsoft"},
		{name: "gitlab"},
		{name: "auth0"},
		{name: "okta"},
		{name: "keycloak", issParameterSupport: true},
		{name: "salesforce"},
		{name: "dev", issParameterSupport: true},
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			e := mustBuild(t, tt.name)
			if got, want := e.AuthMethods, tt.authMethods; !slices.Equal(got, want) {
				t.Errorf("AuthMethods = %v, want %v", got, want)
			}
			if got, want := e.Quirks.ScopeSeparator, tt.scopeSeparator; got != want {
				t.Errorf("ScopeSeparator = %q, want %q", got, want)
			}
			if got, want := e.Quirks.AuthParams, tt.authParams; !maps.Equal(got, want) {
				t.Errorf("AuthParams = %v, want %v", got, want)
			}
			if got, want := len(e.Quirks.Header), len(tt.header); got != want {
				t.Errorf("Header = %v, want %d headers", e.Quirks.Header, want)
			}
			for k, v := range tt.header {
				if got := e.Quirks.Header.Values(k); !slices.Equal(got, []string{v}) {
					t.Errorf("Header[%s] = %q, want [%q]", k, got, v)
				}
			}
			if got, want := e.Quirks.NestedTokenField, tt.nestedTokenField; got != want {
				t.Errorf("NestedTokenField = %q, want %q", got, want)
			}
			if got, want := e.IssParameterSupported, tt.issParameterSupport; got != want {
				t.Errorf("IssParameterSupported = %t, want %t", got, want)
			}
			if e.IssParameterSupported && e.Issuer == "" {
				t.Error("IssParameterSupported without an Issuer to compare iss with")
			}
		})
	}
	for _, name := range provider.Names() {
		if !tested[name] {
			t.Errorf("no quirks test for %s", name)
		}
	}
}

// TestFreshValues checks that changing a returned preset does not change the
// next one: each call builds new maps, headers and slices.
func TestFreshValues(t *testing.T) {
	for _, name := range provider.Names() {
		t.Run(name, func(t *testing.T) {
			a, b := mustBuild(t, name), mustBuild(t, name)
			if len(a.AuthMethods) > 0 {
				a.AuthMethods[0] = pixie.AuthNone
			}
			for k := range a.Quirks.AuthParams {
				a.Quirks.AuthParams[k] = "changed"
			}
			for k := range a.Quirks.Header {
				a.Quirks.Header.Set(k, "changed")
			}
			if c := mustBuild(t, name); !reflect.DeepEqual(b, c) {
				t.Errorf("changing one preset changed the next: %+v, want %+v", c, b)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		got  func() (pixie.Endpoint, error)
		want pixie.Endpoint
	}{
		{
			name: "microsoft tenant ID upper case",
			got:  func() (pixie.Endpoint, error) { return provider.Microsoft(strings.ToUpper(guid)) },
			want: pixie.Endpoint{
				Issuer:        "https://login.microsoftonline.com/" + guid + "/v2.0",
				AuthURL:       "https://login.microsoftonline.com/" + guid + "/oauth2/v2.0/authorize",
				TokenURL:      "https://login.microsoftonline.com/" + guid + "/oauth2/v2.0/token",
				DeviceAuthURL: "https://login.microsoftonline.com/" + guid + "/oauth2/v2.0/devicecode",
				UserinfoURL:   "https://graph.microsoft.com/oidc/userinfo",
				JWKSURL:       "https://login.microsoftonline.com/" + guid + "/discovery/v2.0/keys",
			},
		},
		{
			name: "microsoft common has no issuer",
			got:  func() (pixie.Endpoint, error) { return provider.Microsoft("Common") },
			want: pixie.Endpoint{
				AuthURL:       "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
				TokenURL:      "https://login.microsoftonline.com/common/oauth2/v2.0/token",
				DeviceAuthURL: "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
				UserinfoURL:   "https://graph.microsoft.com/oidc/userinfo",
				JWKSURL:       "https://login.microsoftonline.com/common/discovery/v2.0/keys",
			},
		},
		{
			name: "microsoft domain has no issuer",
			got:  func() (pixie.Endpoint, error) { return provider.Microsoft("contoso.onmicrosoft.com") },
			want: pixie.Endpoint{
				AuthURL:       "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
				TokenURL:      "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
				DeviceAuthURL: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode",
				UserinfoURL:   "https://graph.microsoft.com/oidc/userinfo",
				JWKSURL:       "https://login.microsoftonline.com/contoso.onmicrosoft.com/discovery/v2.0/keys",
			},
		},
		{
			name: "gitlab self-managed under a path",
			got:  func() (pixie.Endpoint, error) { return provider.GitLab("https://example.com/gitlab/") },
			want: pixie.Endpoint{
				Issuer:           "https://example.com/gitlab",
				AuthURL:          "https://example.com/gitlab/oauth/authorize",
				TokenURL:         "https://example.com/gitlab/oauth/token",
				DeviceAuthURL:    "https://example.com/gitlab/oauth/authorize_device",
				RevocationURL:    "https://example.com/gitlab/oauth/revoke",
				IntrospectionURL: "https://example.com/gitlab/oauth/introspect",
				UserinfoURL:      "https://example.com/gitlab/oauth/userinfo",
				JWKSURL:          "https://example.com/gitlab/oauth/discovery/keys",
			},
		},
		{
			name: "auth0 issuer keeps its slash",
			got:  func() (pixie.Endpoint, error) { return provider.Auth0("login.example.com") },
			want: pixie.Endpoint{
				Issuer:        "https://login.example.com/",
				AuthURL:       "https://login.example.com/authorize",
				TokenURL:      "https://login.example.com/oauth/token",
				DeviceAuthURL: "https://login.example.com/oauth/device/code",
				RevocationURL: "https://login.example.com/oauth/revoke",
				UserinfoURL:   "https://login.example.com/userinfo",
				JWKSURL:       "https://login.example.com/.well-known/jwks.json",
			},
		},
		{
			name: "okta org authorization server",
			got:  func() (pixie.Endpoint, error) { return provider.Okta("example.okta.com", "") },
			want: pixie.Endpoint{
				Issuer:           "https://example.okta.com",
				AuthURL:          "https://example.okta.com/oauth2/v1/authorize",
				TokenURL:         "https://example.okta.com/oauth2/v1/token",
				DeviceAuthURL:    "https://example.okta.com/oauth2/v1/device/authorize",
				RevocationURL:    "https://example.okta.com/oauth2/v1/revoke",
				IntrospectionURL: "https://example.okta.com/oauth2/v1/introspect",
				UserinfoURL:      "https://example.okta.com/oauth2/v1/userinfo",
				JWKSURL:          "https://example.okta.com/oauth2/v1/keys",
			},
		},
		{
			name: "okta custom authorization server",
			got:  func() (pixie.Endpoint, error) { return provider.Okta("example.okta.com", "default") },
			want: pixie.Endpoint{
				Issuer:           "https://example.okta.com/oauth2/default",
				AuthURL:          "https://example.okta.com/oauth2/default/v1/authorize",
				TokenURL:         "https://example.okta.com/oauth2/default/v1/token",
				DeviceAuthURL:    "https://example.okta.com/oauth2/default/v1/device/authorize",
				RevocationURL:    "https://example.okta.com/oauth2/default/v1/revoke",
				IntrospectionURL: "https://example.okta.com/oauth2/default/v1/introspect",
				UserinfoURL:      "https://example.okta.com/oauth2/default/v1/userinfo",
				JWKSURL:          "https://example.okta.com/oauth2/default/v1/keys",
			},
		},
		{
			name: "keycloak realm is path-escaped",
			got:  func() (pixie.Endpoint, error) { return provider.Keycloak("https://sso.example.com/auth", "my realm") },
			want: pixie.Endpoint{
				Issuer:                "https://sso.example.com/auth/realms/my%20realm",
				AuthURL:               "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/auth",
				TokenURL:              "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/token",
				DeviceAuthURL:         "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/auth/device",
				RevocationURL:         "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/revoke",
				IntrospectionURL:      "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/token/introspect",
				UserinfoURL:           "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/userinfo",
				PARURL:                "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/ext/par/request",
				JWKSURL:               "https://sso.example.com/auth/realms/my%20realm/protocol/openid-connect/certs",
				IssParameterSupported: true,
			},
		},
		{
			name: "salesforce my domain",
			got:  func() (pixie.Endpoint, error) { return provider.Salesforce("example.my.salesforce.com") },
			want: pixie.Endpoint{
				Issuer:           "https://example.my.salesforce.com",
				AuthURL:          "https://example.my.salesforce.com/services/oauth2/authorize",
				TokenURL:         "https://example.my.salesforce.com/services/oauth2/token",
				RevocationURL:    "https://example.my.salesforce.com/services/oauth2/revoke",
				IntrospectionURL: "https://example.my.salesforce.com/services/oauth2/introspect",
				UserinfoURL:      "https://example.my.salesforce.com/services/oauth2/userinfo",
				JWKSURL:          "https://example.my.salesforce.com/id/keys",
			},
		},
		{
			name: "dev on loopback http",
			got:  func() (pixie.Endpoint, error) { return provider.Dev("http://127.0.0.1:8080/") },
			want: pixie.Endpoint{
				Issuer:                "http://127.0.0.1:8080",
				AuthURL:               "http://127.0.0.1:8080/authorize",
				TokenURL:              "http://127.0.0.1:8080/token",
				DeviceAuthURL:         "http://127.0.0.1:8080/device_authorization",
				RevocationURL:         "http://127.0.0.1:8080/revoke",
				IntrospectionURL:      "http://127.0.0.1:8080/introspect",
				UserinfoURL:           "http://127.0.0.1:8080/userinfo",
				PARURL:                "http://127.0.0.1:8080/par",
				JWKSURL:               "http://127.0.0.1:8080/jwks",
				IssParameterSupported: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		f    func() (pixie.Endpoint, error)
		want string // in the error message
	}{
		{"microsoft empty", func() (pixie.Endpoint, error) { return provider.Microsoft("") }, "tenant is required"},
		{"microsoft URL", func() (pixie.Endpoint, error) { return provider.Microsoft("https://login.microsoftonline.com/common") }, "is not a tenant ID"},
		{"microsoft word", func() (pixie.Endpoint, error) { return provider.Microsoft("contoso") }, "is not a tenant ID"},
		{"microsoft domain with path", func() (pixie.Endpoint, error) { return provider.Microsoft("contoso.com/v2.0") }, "without a path"},
		{"microsoft short GUID", func() (pixie.Endpoint, error) { return provider.Microsoft(guid[1:]) }, "is not a tenant ID"},
		{"gitlab no scheme", func() (pixie.Endpoint, error) { return provider.GitLab("gitlab.example.com") }, "absolute https URL"},
		{"gitlab query", func() (pixie.Endpoint, error) { return provider.GitLab("https://gitlab.example.com/?x=1") }, "query or fragment"},
		{"gitlab user info", func() (pixie.Endpoint, error) { return provider.GitLab("https://root:hunter2@gitlab.example.com") }, "user info"},
		{"gitlab ftp", func() (pixie.Endpoint, error) { return provider.GitLab("ftp://gitlab.example.com") }, "absolute https URL"},
		{"auth0 empty", func() (pixie.Endpoint, error) { return provider.Auth0("") }, "domain is required"},
		{"auth0 scheme", func() (pixie.Endpoint, error) { return provider.Auth0("https://example.us.auth0.com") }, "without a scheme"},
		{"auth0 path", func() (pixie.Endpoint, error) { return provider.Auth0("example.us.auth0.com/authorize") }, "without a path"},
		{"auth0 space", func() (pixie.Endpoint, error) { return provider.Auth0("example .auth0.com") }, "without a path, query or spaces"},
		{"okta empty", func() (pixie.Endpoint, error) { return provider.Okta("", "default") }, "domain is required"},
		{"okta scheme", func() (pixie.Endpoint, error) { return provider.Okta("https://example.okta.com", "") }, "without a scheme"},
		{"okta server path", func() (pixie.Endpoint, error) { return provider.Okta("example.okta.com", "default/v1") }, "letters and digits"},
		{"keycloak empty", func() (pixie.Endpoint, error) { return provider.Keycloak("", "staff") }, "base URL is required"},
		{"keycloak realms in URL", func() (pixie.Endpoint, error) {
			return provider.Keycloak("https://sso.example.com/realms/staff", "staff")
		}, "must not include /realms/"},
		{"keycloak empty realm", func() (pixie.Endpoint, error) { return provider.Keycloak("https://sso.example.com", "") }, "realm is required"},
		{"keycloak realm with slash", func() (pixie.Endpoint, error) { return provider.Keycloak("https://sso.example.com", "a/b") }, "single name"},
		{"keycloak realm dot-dot", func() (pixie.Endpoint, error) { return provider.Keycloak("https://sso.example.com", "..") }, "single name"},
		{"salesforce scheme", func() (pixie.Endpoint, error) { return provider.Salesforce("https://login.salesforce.com") }, "without a scheme"},
		{"dev empty", func() (pixie.Endpoint, error) { return provider.Dev("") }, "issuer URL is required"},
		{"dev fragment", func() (pixie.Endpoint, error) { return provider.Dev("http://127.0.0.1:8080#x") }, "query or fragment"},
		{"dev no host", func() (pixie.Endpoint, error) { return provider.Dev("http:///path") }, "has no host"},
		{"dev unparsable", func() (pixie.Endpoint, error) { return provider.Dev("http://[::1") }, "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.f()
			if err == nil {
				t.Fatalf("no error; got %+v", e)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q reveals a password", err)
			}
			if !reflect.DeepEqual(e, pixie.Endpoint{}) {
				t.Errorf("endpoint %+v returned with an error", e)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name, provider string
		params         provider.Params
		want           string
	}{
		{"unknown provider", "gitea", nil, `unknown provider "gitea"; known providers: auth0, bitbucket`},
		{"unknown parameter", "okta", provider.Params{"domain": "example.okta.com", "realm": "x"}, `okta does not take parameter "realm"; it takes auth_server, domain`},
		{"parameter for fixed provider", "github", provider.Params{"tenant": "x"}, "it takes no parameters"},
		{"missing required", "keycloak", provider.Params{"base_url": "https://sso.example.com"}, `keycloak needs parameter "realm"`},
		{"invalid value", "auth0", provider.Params{"domain": "https://example.auth0.com"}, "without a scheme"},
		{"multi-line user agent", "reddit", provider.Params{"user_agent": "a\r\nX-Injected: 1"}, "single line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provider.Lookup(tt.provider, tt.params)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLookupOptionalParams(t *testing.T) {
	t.Run("reddit user agent", func(t *testing.T) {
		e, err := provider.Lookup("reddit", provider.Params{"user_agent": "linux:com.example.bot:v1.2 (by /u/example)"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Quirks.Header.Get("User-Agent"), "linux:com.example.bot:v1.2 (by /u/example)"; got != want {
			t.Errorf("User-Agent = %q, want %q", got, want)
		}
	})
	t.Run("gitlab base URL", func(t *testing.T) {
		e, err := provider.Lookup("gitlab", provider.Params{"base_url": "https://gitlab.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.TokenURL, "https://gitlab.example.com/oauth/token"; got != want {
			t.Errorf("TokenURL = %q, want %q", got, want)
		}
	})
	t.Run("salesforce sandbox", func(t *testing.T) {
		e, err := provider.Lookup("salesforce", provider.Params{"domain": "test.salesforce.com"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Issuer, "https://test.salesforce.com"; got != want {
			t.Errorf("Issuer = %q, want %q", got, want)
		}
	})
}

func TestParamsOf(t *testing.T) {
	for _, name := range provider.Names() {
		t.Run(name, func(t *testing.T) {
			ps, err := provider.ParamsOf(name)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				if p.Name == "" || p.Doc == "" {
					t.Errorf("parameter %+v lacks a name or a description", p)
				}
				names = append(names, p.Name)
			}
			// The test parameters name exactly the required ones, and maybe
			// optional ones.
			for k := range lookupParams[name] {
				if !slices.Contains(names, k) {
					t.Errorf("ParamsOf does not list %q", k)
				}
			}
			for _, p := range ps {
				if _, given := lookupParams[name][p.Name]; p.Required && !given {
					t.Errorf("required parameter %q missing from the test parameters", p.Name)
				}
			}
		})
	}
	t.Run("keycloak", func(t *testing.T) {
		ps, err := provider.ParamsOf("Keycloak")
		if err != nil {
			t.Fatal(err)
		}
		want := []provider.Param{{Name: "base_url", Required: true}, {Name: "realm", Required: true}}
		if got := len(ps); got != len(want) {
			t.Fatalf("ParamsOf(keycloak) = %+v, want %d parameters", ps, len(want))
		}
		for i := range want {
			if ps[i].Name != want[i].Name || ps[i].Required != want[i].Required {
				t.Errorf("parameter %d = %+v, want %+v", i, ps[i], want[i])
			}
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if _, err := provider.ParamsOf("nope"); err == nil {
			t.Error("no error for an unknown provider")
		}
	})
}
