// Package provider holds endpoint presets for well-known authorization servers:
// where their endpoints are and how they depart from the RFCs, as values of
// [pixie.Endpoint] and [pixie.Quirks].
//
// Providers with fixed URLs have constructors without arguments, such as [GitHub]
// and [Google]. Providers that live on a tenant, domain or self-hosted base URL
// take it as an argument and validate it, such as [Microsoft], [Okta] and
// [Keycloak]. Every call returns a fresh value: changing its maps, headers or
// slices does not affect other callers.
//
// Command-line tools select a preset by name with [Lookup], passing the
// parameters listed by [ParamsOf]:
//
//	e, err := provider.Lookup("keycloak", provider.Params{
//		"base_url": "https://sso.example.com",
//		"realm":    "staff",
//	})
//
// A preset is a starting point, not a promise about a tenant's configuration.
// For a server that publishes metadata (RFC 8414, OpenID Connect Discovery 1.0),
// discovery gives the authoritative list of endpoints and methods; the quirks
// here describe what discovery cannot.
package provider

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/pixieauth/pixie"
)

// Params holds the parameters of a preset selected by name with [Lookup], such
// as "tenant" for "microsoft" or "base_url" and "realm" for "keycloak".
type Params map[string]string

// Param describes one parameter a named preset accepts.
type Param struct {
	// Name is the key in [Params], such as "tenant".
	Name string
	// Required reports whether Lookup fails without it.
	Required bool
	// Doc is a one-line description for help text.
	Doc string
}

// preset is one entry of the Lookup table.
type preset struct {
	params []Param
	build  func(Params) (pixie.Endpoint, error)
}

// fixed adapts a constructor without parameters.
func fixed(f func() pixie.Endpoint) preset {
	return preset{build: func(Params) (pixie.Endpoint, error) { return f(), nil }}
}

var presets = map[string]preset{
	"bitbucket": fixed(Bitbucket),
	"discord":   fixed(Discord),
	"dropbox":   fixed(Dropbox),
	"github":    fixed(GitHub),
	"google":    fixed(Google),
	"linkedin":  fixed(LinkedIn),
	"slack":     fixed(Slack),
	"spotify":   fixed(Spotify),
	"reddit": {
		params: []Param{{Name: "user_agent", Doc: "the User-Agent Reddit asks every client to set, such as \"linux:com.example.app:v1.0 (by /u/you)\""}},
		build: func(p Params) (pixie.Endpoint, error) {
			e := Reddit()
			if ua := p["user_agent"]; ua != "" {
				if strings.ContainsAny(ua, "\r\n") {
					return pixie.Endpoint{}, errors.New("provider: reddit user_agent must be a single line")
				}
				e.Quirks.Header.Set("User-Agent", ua)
			}
			return e, nil
		},
	},
	"microsoft": {
		params: []Param{{Name: "tenant", Required: true, Doc: "tenant ID (GUID), verified domain, or common, organizations or consumers"}},
		build:  func(p Params) (pixie.Endpoint, error) { return Microsoft(p["tenant"]) },
	},
	"gitlab": {
		params: []Param{{Name: "base_url", Doc: "URL of a self-managed instance; default https://gitlab.com"}},
		build:  func(p Params) (pixie.Endpoint, error) { return GitLab(p["base_url"]) },
	},
	"auth0": {
		params: []Param{{Name: "domain", Required: true, Doc: "tenant or custom domain, such as example.us.auth0.com"}},
		build:  func(p Params) (pixie.Endpoint, error) { return Auth0(p["domain"]) },
	},
	"okta": {
		params: []Param{
			{Name: "domain", Required: true, Doc: "Okta domain, such as example.okta.com"},
			{Name: "auth_server", Doc: "custom authorization server ID, such as default; empty for the org server"},
		},
		build: func(p Params) (pixie.Endpoint, error) { return Okta(p["domain"], p["auth_server"]) },
	},
	"keycloak": {
		params: []Param{
			{Name: "base_url", Required: true, Doc: "server URL without /realms, such as https://sso.example.com"},
			{Name: "realm", Required: true, Doc: "realm name"},
		},
		build: func(p Params) (pixie.Endpoint, error) { return Keycloak(p["base_url"], p["realm"]) },
	},
	"salesforce": {
		params: []Param{{Name: "domain", Doc: "My Domain or test.salesforce.com for sandboxes; default login.salesforce.com"}},
		build:  func(p Params) (pixie.Endpoint, error) { return Salesforce(p["domain"]) },
	},
	"dev": {
		params: []Param{{Name: "issuer", Required: true, Doc: "issuer URL of a running pixie devserver, such as http://127.0.0.1:8080"}},
		build:  func(p Params) (pixie.Endpoint, error) { return Dev(p["issuer"]) },
	},
}

// Names returns the names [Lookup] accepts, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(presets))
}

// ParamsOf returns the parameters the preset called name accepts; it is empty for
// providers with fixed URLs. The name is case-insensitive.
func ParamsOf(name string) ([]Param, error) {
	p, err := find(name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(p.params), nil
}

// Lookup returns the preset called name (case-insensitive, one of [Names]) built
// with params. It fails when name is unknown, when a required parameter is
// missing, when a parameter is not one the preset accepts, and when a parameter
// value is invalid. params may be nil for presets without required parameters.
func Lookup(name string, params Params) (pixie.Endpoint, error) {
	p, err := find(name)
	if err != nil {
		return pixie.Endpoint{}, err
	}
	key := strings.ToLower(name)
	for k := range params {
		if !slices.ContainsFunc(p.params, func(q Param) bool { return q.Name == k }) {
			return pixie.Endpoint{}, fmt.Errorf("provider: %s does not take parameter %q; %s", key, k, describeParams(p.params))
		}
	}
	for _, q := range p.params {
		if q.Required && params[q.Name] == "" {
			return pixie.Endpoint{}, fmt.Errorf("provider: %s needs parameter %q (%s)", key, q.Name, q.Doc)
		}
	}
	return p.build(params)
}

func find(name string) (preset, error) {
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		return preset{}, fmt.Errorf("provider: unknown provider %q; known providers: %s", name, strings.Join(Names(), ", "))
	}
	return p, nil
}

func describeParams(ps []Param) string {
	if len(ps) == 0 {
		return "it takes no parameters"
	}
	names := make([]string, len(ps))
	for i, q := range ps {
		names[i] = q.Name
	}
	sort.Strings(names)
	return "it takes " + strings.Join(names, ", ")
}

// checkHost validates a bare host name such as "example.okta.com", as given for a
// tenant's domain: no scheme, path, query, user info or spaces. A port is
// allowed. what names the value in errors, such as "auth0 domain".
func checkHost(what, example, host string) error {
	if host == "" {
		return fmt.Errorf("provider: %s is required, such as %q", what, example)
	}
	if strings.Contains(host, "://") {
		return fmt.Errorf("provider: %s %q must be a host name such as %q, without a scheme", what, host, example)
	}
	u, err := url.Parse("https://" + host)
	if err != nil || u.Host != host || u.Hostname() == "" {
		return fmt.Errorf("provider: %s %q must be a host name such as %q, without a path, query or spaces", what, host, example)
	}
	return nil
}

// parseBaseURL validates an absolute http or https URL that endpoint paths are
// appended to, and returns it as given but without a trailing slash, so that an
// issuer derived from it compares equal to the server's. http is accepted here
// because pixie refuses plain-HTTP endpoints off loopback when the Config is used,
// unless AllowInsecureHTTP is set.
func parseBaseURL(what, example, raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("provider: %s is required, such as %q", what, example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("provider: %s %q is not a valid URL: %w", what, raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("provider: %s %q must be an absolute https URL such as %q", what, raw, example)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("provider: %s %q has no host", what, raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("provider: %s %q must not carry user info", what, u.Redacted())
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("provider: %s %q must not have a query or fragment", what, raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// checkPathSegment validates a value used as one path segment, such as a realm.
func checkPathSegment(what, v string) error {
	if v == "" {
		return fmt.Errorf("provider: %s is required", what)
	}
	if strings.ContainsAny(v, "/?#\\") || v == "." || v == ".." {
		return fmt.Errorf("provider: %s %q must be a single name without '/', '?', '#' or '\\'", what, v)
	}
	return nil
}
