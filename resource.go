package pixie

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// ResourceMetadata is a protected resource's metadata document (RFC 9728 section
// 2): its resource identifier, the authorization servers that issue tokens for
// it, and what it accepts. Fetch it with [DiscoverResource] or
// [Discovery.DiscoverResource], or from a resource server's challenge with
// [Discovery.ResourceFromChallenge].
type ResourceMetadata struct {
	// Resource is the resource identifier: an https URL without fragment (RFC
	// 9728 section 1.2). Discovery checks it against the URL asked for (section
	// 3.3). It is the value pixie sends as the RFC 8707 resource parameter.
	Resource string `json:"resource"`

	AuthorizationServers               []string `json:"authorization_servers,omitempty"`                 // RFC 9728 section 2
	JWKSURI                            string   `json:"jwks_uri,omitempty"`                              // RFC 9728 section 2
	ScopesSupported                    []string `json:"scopes_supported,omitempty"`                      // RFC 9728 section 2
	BearerMethodsSupported             []string `json:"bearer_methods_supported,omitempty"`              // RFC 9728 section 2
	ResourceSigningAlgValuesSupported  []string `json:"resource_signing_alg_values_supported,omitempty"` // RFC 9728 section 2
	ResourceName                       string   `json:"resource_name,omitempty"`                         // RFC 9728 section 2
	ResourceDocumentation              string   `json:"resource_documentation,omitempty"`                // RFC 9728 section 2
	ResourcePolicyURI                  string   `json:"resource_policy_uri,omitempty"`                   // RFC 9728 section 2
	ResourceTOSURI                     string   `json:"resource_tos_uri,omitempty"`                      // RFC 9728 section 2
	TLSClientCertificateBoundTokens    bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"` // RFC 9728 section 2
	DPoPSigningAlgValuesSupported      []string `json:"dpop_signing_alg_values_supported,omitempty"`     // RFC 9728 section 2
	DPoPBoundAccessTokensRequired      bool     `json:"dpop_bound_access_tokens_required,omitempty"`     // RFC 9728 section 2

	// Raw holds every member of the document as decoded from JSON, the ones
	// above included, for extensions pixie does not model.
	Raw map[string]any `json:"-"`
}

// DecodeResourceMetadata decodes a protected resource metadata document (RFC
// 9728 section 3.2): a JSON object whose resource member is present. A member of
// the wrong JSON type is an error naming the member. It checks neither the
// resource's value nor the URLs; discovery does.
func DecodeResourceMetadata(b []byte) (*ResourceMetadata, error) {
	var m ResourceMetadata
	if err := decodeDocument(b, "protected resource metadata", &m, &m.Raw); err != nil {
		return nil, err
	}
	if m.Resource == "" {
		return nil, errors.New(`pixie: protected resource metadata has no "resource" member (RFC 9728 section 2 requires it)`)
	}
	return &m, nil
}

// checkURLs refuses a document whose authorization servers or key set URL would
// be reached in the clear (see wire.CheckURL).
func (m *ResourceMetadata) checkURLs(allowInsecure bool) error {
	for i, as := range m.AuthorizationServers {
		if err := wire.CheckURL(as, allowInsecure); err != nil {
			return fmt.Errorf("authorization_servers[%d]: %w", i, err)
		}
	}
	if m.JWKSURI != "" {
		if err := wire.CheckURL(m.JWKSURI, allowInsecure); err != nil {
			return fmt.Errorf("jwks_uri: %w", err)
		}
	}
	return nil
}

// wellKnownResource is the well-known suffix of protected resource metadata (RFC
// 9728 section 3).
const wellKnownResource = "/.well-known/oauth-protected-resource"

// DiscoverResource fetches the metadata of the protected resource identified by
// resourceURL with a package-level [Discovery] that has default settings,
// caching it for an hour.
func DiscoverResource(ctx context.Context, resourceURL string) (*ResourceMetadata, error) {
	return defaultDiscovery.DiscoverResource(ctx, resourceURL)
}

// DiscoverResource returns the metadata of the protected resource identified by
// resourceURL, from the cache or fetched from its well-known location: RFC 9728
// section 3.1 inserts /.well-known/oauth-protected-resource between the host and
// the path (and query) of the identifier, so https://api.example.com/v1 is
// described at https://api.example.com/.well-known/oauth-protected-resource/v1.
//
// The document's resource must equal resourceURL exactly (section 3.3), so that
// one resource cannot pass itself off as another to obtain its tokens; the
// authorization servers it lists must pass the https rules of
// [Discovery.Discover], and so must every redirect followed to fetch it. The
// returned metadata is shared with the cache and must not be modified.
func (d *Discovery) DiscoverResource(ctx context.Context, resourceURL string) (*ResourceMetadata, error) {
	loc, err := resourceWellKnown(resourceURL, d.AllowInsecureHTTP)
	if err != nil {
		return nil, err
	}
	m, err := d.resourceMetadata(ctx, loc)
	if err != nil {
		return nil, err
	}
	if m.Resource != resourceURL {
		return nil, fmt.Errorf("pixie: protected resource metadata %s: resource %q does not equal %q, the resource it was fetched for; refusing it (RFC 9728 section 3.3: it may describe another resource)", loc, m.Resource, resourceURL)
	}
	return m, nil
}

// ResourceFromChallenge returns the metadata that a resource server's challenge
// names in its resource_metadata parameter (RFC 9728 section 5.1), in answer to
// a request for requestURL. The metadata URL must pass the https rules. The
// document's resource must be requestURL itself, as section 3.3 says, or lie
// above it: the same scheme and host, no query, and a path that is requestURL's
// or one of its parents (https://api.example.com/v1 for a request to
// https://api.example.com/v1/items), since an API is one resource whatever
// endpoint answered. A document for another host is refused.
func (d *Discovery) ResourceFromChallenge(ctx context.Context, requestURL string, ch *Challenge) (*ResourceMetadata, error) {
	if ch == nil || ch.ResourceMetadata == "" {
		return nil, errors.New("pixie: the challenge has no resource_metadata parameter (RFC 9728 section 5.1)")
	}
	if err := wire.CheckURL(ch.ResourceMetadata, d.AllowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("pixie: resource_metadata of %s: %w", redactedURL(requestURL), err)
	}
	m, err := d.resourceMetadata(ctx, ch.ResourceMetadata)
	if err != nil {
		return nil, err
	}
	if !resourceCovers(m.Resource, requestURL) {
		return nil, fmt.Errorf("pixie: protected resource metadata %s: resource %q is not %s nor above it; refusing it (RFC 9728 section 3.3: it may describe another resource)", ch.ResourceMetadata, m.Resource, redactedURL(requestURL))
	}
	return m, nil
}

// resourceKeyPrefix keeps protected resource metadata apart from authorization
// server metadata in the [Discovery] cache: no issuer starts with it.
const resourceKeyPrefix = "protected-resource "

// resourceMetadata fetches (or takes from the cache) the document at loc.
func (d *Discovery) resourceMetadata(ctx context.Context, loc string) (*ResourceMetadata, error) {
	what := "protected resource metadata " + loc
	doc, err := d.load(ctx, resourceKeyPrefix+loc, what, func(ctx context.Context) (any, time.Duration, error) {
		f, err := d.get(ctx, loc)
		if errors.Is(err, errNotHere) {
			return nil, 0, fmt.Errorf("pixie: %s: no document (%w); the resource may not support RFC 9728", what, err)
		}
		if err != nil {
			return nil, 0, err
		}
		m, err := DecodeResourceMetadata(f.body)
		if err != nil {
			return nil, 0, fmt.Errorf("pixie: %s (HTTP %d, Content-Type %q): %w", what, f.status, f.contentType, err)
		}
		if err := m.checkURLs(d.AllowInsecureHTTP); err != nil {
			return nil, 0, fmt.Errorf("pixie: %s: %w", what, err)
		}
		return m, f.maxAge, nil
	})
	if err != nil {
		return nil, err
	}
	return doc.(*ResourceMetadata), nil
}

// resourceWellKnown returns where the metadata of resource is (RFC 9728 section
// 3.1): the well-known path inserted between the host and the path, after
// dropping a lone slash after the host.
func resourceWellKnown(resource string, allowInsecure bool) (string, error) {
	if err := wire.CheckURL(resource, allowInsecure); err != nil {
		return "", fmt.Errorf("pixie: protected resource: %w", err)
	}
	u, err := url.Parse(resource)
	if err != nil {
		return "", fmt.Errorf("pixie: protected resource: %w", err)
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	w := url.URL{Scheme: u.Scheme, Host: u.Host}
	loc := w.String() + wellKnownResource + path
	if u.RawQuery != "" {
		loc += "?" + u.RawQuery
	}
	return loc, nil
}

// resourceCovers reports whether a request to requestURL is a request to the
// protected resource identified by resource: the same URL, or one under it (see
// [Discovery.ResourceFromChallenge]).
func resourceCovers(resource, requestURL string) bool {
	if resource == requestURL {
		return true
	}
	r, err1 := url.Parse(resource)
	q, err2 := url.Parse(requestURL)
	if err1 != nil || err2 != nil || r.RawQuery != "" || r.Fragment != "" || r.User != nil ||
		!strings.EqualFold(r.Scheme, q.Scheme) || !strings.EqualFold(r.Host, q.Host) {
		return false
	}
	base, path := strings.TrimSuffix(r.EscapedPath(), "/"), q.EscapedPath()
	return path == base || strings.HasPrefix(path, base+"/")
}

// redactedURL shows raw without a password, for error messages.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	return u.Redacted()
}

// Challenge is one challenge of a resource server's WWW-Authenticate header
// (RFC 9110 section 11.6.1) in the Bearer (RFC 6750 section 3) or DPoP (RFC
// 9449 section 7.1) scheme. Read them with [Challenges].
type Challenge struct {
	// Scheme is "Bearer" or "DPoP".
	Scheme string
	// Realm is the realm parameter, if any.
	Realm string
	// Error is the error code: "invalid_token", "insufficient_scope",
	// "invalid_request" (RFC 6750 section 3.1), "use_dpop_nonce" (RFC 9449
	// section 9), or "" when the request carried no credentials.
	Error string
	// ErrorDescription is the error_description parameter.
	ErrorDescription string
	// Scope is the scope the resource needs (RFC 6750 section 3): with
	// insufficient_scope, the scopes a token must carry.
	Scope []string
	// ResourceMetadata is the URL of the resource's metadata (RFC 9728 section
	// 5.1), for [Discovery.ResourceFromChallenge].
	ResourceMetadata string
}

// Challenges returns the Bearer and DPoP challenges of the WWW-Authenticate
// fields of h, in order; challenges of other schemes are skipped.
func Challenges(h http.Header) []Challenge {
	var out []Challenge
	for _, v := range h.Values("WWW-Authenticate") {
		ours := false
		authParams(v, func(scheme, name, value string) {
			if name == "" {
				ours = strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")
				if ours {
					out = append(out, Challenge{Scheme: canonicalScheme(scheme)})
				}
				return
			}
			if !ours {
				return
			}
			c := &out[len(out)-1]
			switch strings.ToLower(name) {
			case "realm":
				c.Realm = value
			case "error":
				c.Error = value
			case "error_description":
				c.ErrorDescription = value
			case "scope":
				c.Scope = strings.Fields(value)
			case "resource_metadata":
				c.ResourceMetadata = value
			}
		})
	}
	return out
}

func canonicalScheme(s string) string {
	if strings.EqualFold(s, "DPoP") {
		return "DPoP"
	}
	return "Bearer"
}
