package pixie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pixieauth/pixie/internal/wire"
)

// Metadata is an authorization server's metadata document: RFC 8414 section 2,
// with the members OpenID Connect Discovery 1.0 section 3 adds and those of the
// later RFCs a client uses (RFC 8628, RFC 9126, RFC 9207, RFC 9449, RFC 8705).
// Fetch it with [Discover] or [Discovery.Discover], or decode one with
// [DecodeMetadata]; turn it into an [Endpoint] with [Metadata.Endpoint].
type Metadata struct {
	// Issuer is the server's issuer identifier: an https URL without query or
	// fragment (RFC 8414 section 2). Discovery checks it equals the issuer asked for.
	Issuer string `json:"issuer"`

	AuthorizationEndpoint              string `json:"authorization_endpoint,omitempty"`                // RFC 8414 section 2
	TokenEndpoint                      string `json:"token_endpoint,omitempty"`                        // RFC 8414 section 2
	JWKSURI                            string `json:"jwks_uri,omitempty"`                              // RFC 8414 section 2
	RegistrationEndpoint               string `json:"registration_endpoint,omitempty"`                 // RFC 8414 section 2
	RevocationEndpoint                 string `json:"revocation_endpoint,omitempty"`                   // RFC 8414 section 2
	IntrospectionEndpoint              string `json:"introspection_endpoint,omitempty"`                // RFC 8414 section 2
	DeviceAuthorizationEndpoint        string `json:"device_authorization_endpoint,omitempty"`         // RFC 8628 section 4
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint,omitempty"` // RFC 9126 section 5
	UserinfoEndpoint                   string `json:"userinfo_endpoint,omitempty"`                     // OIDC Discovery section 3
	EndSessionEndpoint                 string `json:"end_session_endpoint,omitempty"`                  // OIDC RP-Initiated Logout section 2.1
	ServiceDocumentation               string `json:"service_documentation,omitempty"`                 // RFC 8414 section 2

	ScopesSupported                            []string          `json:"scopes_supported,omitempty"`                                 // RFC 8414 section 2
	ResponseTypesSupported                     []string          `json:"response_types_supported,omitempty"`                         // RFC 8414 section 2
	ResponseModesSupported                     []string          `json:"response_modes_supported,omitempty"`                         // RFC 8414 section 2
	GrantTypesSupported                        []string          `json:"grant_types_supported,omitempty"`                            // RFC 8414 section 2
	TokenEndpointAuthMethodsSupported          []string          `json:"token_endpoint_auth_methods_supported,omitempty"`            // RFC 8414 section 2
	TokenEndpointAuthSigningAlgValuesSupported []string          `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"` // RFC 8414 section 2
	RevocationEndpointAuthMethodsSupported     []string          `json:"revocation_endpoint_auth_methods_supported,omitempty"`       // RFC 8414 section 2
	IntrospectionEndpointAuthMethodsSupported  []string          `json:"introspection_endpoint_auth_methods_supported,omitempty"`    // RFC 8414 section 2
	CodeChallengeMethodsSupported              []string          `json:"code_challenge_methods_supported,omitempty"`                 // RFC 8414 section 2
	DPoPSigningAlgValuesSupported              []string          `json:"dpop_signing_alg_values_supported,omitempty"`                // RFC 9449 section 5.1
	IDTokenSigningAlgValuesSupported           []string          `json:"id_token_signing_alg_values_supported,omitempty"`            // OIDC Discovery section 3
	UserinfoSigningAlgValuesSupported          []string          `json:"userinfo_signing_alg_values_supported,omitempty"`            // OIDC Discovery section 3
	RequestObjectSigningAlgValuesSupported     []string          `json:"request_object_signing_alg_values_supported,omitempty"`      // OIDC Discovery section 3
	SubjectTypesSupported                      []string          `json:"subject_types_supported,omitempty"`                          // OIDC Discovery section 3
	ClaimsSupported                            []string          `json:"claims_supported,omitempty"`                                 // OIDC Discovery section 3
	AuthorizationDetailsTypesSupported         []string          `json:"authorization_details_types_supported,omitempty"`            // RFC 9396 section 10
	RequirePushedAuthorizationRequests         bool              `json:"require_pushed_authorization_requests,omitempty"`            // RFC 9126 section 5
	ClientIDMetadataDocumentSupported          bool              `json:"client_id_metadata_document_supported,omitempty"`            // draft-ietf-oauth-client-id-metadata-document section 5
	AuthorizationResponseIssParameterSupported bool              `json:"authorization_response_iss_parameter_supported,omitempty"`   // RFC 9207 section 3
	TLSClientCertificateBoundAccessTokens      bool              `json:"tls_client_certificate_bound_access_tokens,omitempty"`       // RFC 8705 section 3.3
	ClaimsParameterSupported                   bool              `json:"claims_parameter_supported,omitempty"`                       // OIDC Discovery section 3
	RequestParameterSupported                  bool              `json:"request_parameter_supported,omitempty"`                      // OIDC Discovery section 3
	BackchannelLogoutSupported                 bool              `json:"backchannel_logout_supported,omitempty"`                     // OIDC Back-Channel Logout section 2.1
	FrontchannelLogoutSupported                bool              `json:"frontchannel_logout_supported,omitempty"`                    // OIDC Front-Channel Logout section 3
	MTLSEndpointAliases                        map[string]string `json:"mtls_endpoint_aliases,omitempty"`                            // RFC 8705 section 5

	// Raw holds every member of the document as decoded from JSON (strings,
	// float64 numbers, bools, maps, slices), the ones above included, for
	// extensions pixie does not model.
	Raw map[string]any `json:"-"`
}

// DecodeMetadata decodes a metadata document (RFC 8414 section 3.2): a JSON object
// whose issuer member is present. A member of the wrong JSON type is an error
// naming the member. DecodeMetadata checks neither the issuer's value nor the
// endpoint URLs; [Discovery.Discover] does.
func DecodeMetadata(b []byte) (*Metadata, error) {
	var m Metadata
	if err := decodeDocument(b, "metadata", &m, &m.Raw); err != nil {
		return nil, err
	}
	if m.Issuer == "" {
		return nil, errors.New(`pixie: metadata has no "issuer" member (RFC 8414 section 2 requires it)`)
	}
	return &m, nil
}

// decodeDocument decodes the JSON object b into v, and every member into raw. A
// member of the wrong JSON type is an error naming it; what names the document
// in errors.
func decodeDocument(b []byte, what string, v any, raw *map[string]any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("pixie: %s is not a JSON object (starts with %q)", what, metadataSnippet(b, 16))
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("pixie: %s member %s: found a JSON %s, want %s", what, te.Field, te.Value, jsonTypeName(te.Type.String()))
		}
		return fmt.Errorf("pixie: %s is not valid JSON: %w", what, err)
	}
	if err := json.Unmarshal(b, raw); err != nil {
		return fmt.Errorf("pixie: %s is not valid JSON: %w", what, err)
	}
	return nil
}

// jsonTypeName names the JSON type that decodes into the Go type t.
func jsonTypeName(t string) string {
	switch {
	case t == "string":
		return "string"
	case t == "bool":
		return "boolean"
	case strings.HasPrefix(t, "[]"):
		return "array of " + jsonTypeName(t[2:]) + "s"
	case strings.HasPrefix(t, "map["):
		return "object"
	}
	return t
}

// metadataSnippet returns at most n bytes of b, for error messages about unexpected content.
func metadataSnippet(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// Endpoint returns the server's endpoints, its token_endpoint_auth_methods_supported
// and its RFC 9207 iss parameter support as an [Endpoint]. Quirks are left zero.
func (m *Metadata) Endpoint() Endpoint {
	var methods []AuthMethod
	for _, s := range m.TokenEndpointAuthMethodsSupported {
		methods = append(methods, AuthMethod(s))
	}
	return Endpoint{
		Issuer:                m.Issuer,
		AuthURL:               m.AuthorizationEndpoint,
		TokenURL:              m.TokenEndpoint,
		DeviceAuthURL:         m.DeviceAuthorizationEndpoint,
		RevocationURL:         m.RevocationEndpoint,
		IntrospectionURL:      m.IntrospectionEndpoint,
		UserinfoURL:           m.UserinfoEndpoint,
		PARURL:                m.PushedAuthorizationRequestEndpoint,
		JWKSURL:               m.JWKSURI,
		AuthMethods:           methods,
		IssParameterSupported: m.AuthorizationResponseIssParameterSupported,
		RequirePAR:            m.RequirePushedAuthorizationRequests,
	}
}

// checkURLs refuses a document whose endpoints would send credentials in the clear
// (see wire.CheckURL). When the issuer is https, every endpoint must be https too,
// loopback ones included, unless allowInsecure is set.
func (m *Metadata) checkURLs(allowInsecure bool) error {
	httpsIssuer := strings.HasPrefix(strings.ToLower(m.Issuer), "https:")
	check := func(name, raw string) error {
		if raw == "" {
			return nil
		}
		if err := wire.CheckURL(raw, allowInsecure); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if httpsIssuer && !allowInsecure && !strings.HasPrefix(strings.ToLower(raw), "https:") {
			return fmt.Errorf("%s: https issuer %q advertises non-https URL %q", name, m.Issuer, raw)
		}
		return nil
	}
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"registration_endpoint", m.RegistrationEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
		{"introspection_endpoint", m.IntrospectionEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
		{"pushed_authorization_request_endpoint", m.PushedAuthorizationRequestEndpoint},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"end_session_endpoint", m.EndSessionEndpoint},
	} {
		if err := check(e.name, e.url); err != nil {
			return err
		}
	}
	for name, u := range m.MTLSEndpointAliases {
		if err := check("mtls_endpoint_aliases."+name, u); err != nil {
			return err
		}
	}
	return nil
}

// DefaultDiscoveryTTL is how long [Discovery] caches a document when its TTL is 0.
const DefaultDiscoveryTTL = time.Hour

// minDiscoveryTTL is the shortest time a document is cached, whatever the server's
// Cache-Control says, so that a server sending no-store cannot make every
// [Discovery.Discover] call a network round trip. A TTL below it wins.
const minDiscoveryTTL = time.Minute

// discoveryTimeout bounds one discovery, all well-known locations included.
const discoveryTimeout = 30 * time.Second

// Discovery fetches and caches authorization server metadata (RFC 8414, OpenID
// Connect Discovery 1.0). The zero value is ready to use. A Discovery is safe for
// concurrent use, and concurrent calls for an issuer not in the cache make one
// fetch. It must not be copied after first use, and its fields must not be
// changed then.
type Discovery struct {
	// HTTPClient sends the requests. When nil, a client with a 30 second timeout
	// over http.DefaultTransport is used.
	HTTPClient *http.Client
	// TTL is how long a document is cached; 0 means [DefaultDiscoveryTTL]. A
	// shorter Cache-Control max-age from the server is honoured, but no document is
	// cached for less than a minute unless TTL is shorter. When fetching a document
	// again fails with a [Temporary] error, the expired one is returned instead and
	// fetched again a minute (or TTL, if shorter) later.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AllowInsecureHTTP permits http:// issuers and endpoints on hosts other than
	// loopback, and http endpoints in an https issuer's document.
	AllowInsecureHTTP bool

	mu    sync.Mutex
	cache map[string]cachedDoc
	group singleflight.Group
}

// cachedDoc is a cached document: a *Metadata, or a *ResourceMetadata.
type cachedDoc struct {
	doc     any
	fetched time.Time
	expires time.Time
}

// maxStaleDiscovery bounds how long after it was fetched an expired document may
// still be served while its server fails (see keepStale).
const maxStaleDiscovery = 24 * time.Hour

// discoverySweepAt is the cache size above which storing a document first drops
// the entries too old to be served even stale, so that a program discovering
// issuers taken from its users' input does not grow the cache without bound.
const discoverySweepAt = 256

var defaultDiscovery Discovery

// Discover fetches the metadata of issuer with a package-level [Discovery] that
// has default settings, caching it for an hour.
func Discover(ctx context.Context, issuer string) (*Metadata, error) {
	return defaultDiscovery.Discover(ctx, issuer)
}

// Discover returns the metadata of the authorization server identified by issuer,
// from the cache or fetched from its well-known locations, tried in this order
// until one does not answer 404 or 410 or an HTML page:
//
//   - RFC 8414 section 3.1: /.well-known/oauth-authorization-server inserted
//     between the host and the issuer's path;
//   - OpenID Connect Discovery section 4.1: /.well-known/openid-configuration
//     appended to the issuer;
//   - for an issuer with a path, openid-configuration inserted as in RFC 8414
//     section 5, then oauth-authorization-server appended, as some servers serve it.
//
// The document's issuer must equal issuer exactly (RFC 8414 section 3.3, OpenID
// Connect Discovery section 4.3), which protects against mix-up attacks; every
// endpoint URL it lists must pass the same https rules as the issuer, and so must
// every redirect followed to fetch it (never from https to http). The returned
// Metadata is shared with the cache and must not be modified.
func (d *Discovery) Discover(ctx context.Context, issuer string) (*Metadata, error) {
	doc, err := d.load(ctx, issuer, "discovery for "+issuer, func(ctx context.Context) (any, time.Duration, error) {
		return d.fetch(ctx, issuer)
	})
	if err != nil {
		return nil, err
	}
	return doc.(*Metadata), nil
}

// load returns the document cached under key, or fetches it: one fetch at a
// time per key, shared by every caller waiting for it, on a context detached
// from theirs and bounded by discoveryTimeout. A fetch that fails with a
// [Temporary] error returns the expired document, if any (see keepStale). what
// names the document in errors.
func (d *Discovery) load(ctx context.Context, key, what string, fetch func(context.Context) (any, time.Duration, error)) (any, error) {
	if doc, ok := d.cached(key); ok {
		return doc, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pixie: %s: %w", what, err)
	}
	ch := d.group.DoChan(key, func() (any, error) {
		if doc, ok := d.cached(key); ok {
			return doc, nil
		}
		// The fetch is shared by every waiting caller, so one caller's cancellation
		// must not end it; discoveryTimeout bounds it instead.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
		defer cancel()
		doc, maxAge, err := fetch(fctx)
		if err != nil {
			if doc, ok := d.keepStale(key, err); ok {
				return doc, nil
			}
			return nil, err
		}
		d.store(key, doc, maxAge)
		return doc, nil
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("pixie: %s: %w", what, ctx.Err())
	}
}

func (d *Discovery) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Discovery) cached(key string) (any, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.cache[key]
	if !ok || !d.now().Before(c.expires) {
		return nil, false
	}
	return c.doc, true
}

// keepStale returns the expired document cached under key, if any, when err, the
// failure to fetch it again, is [Temporary], and keeps it for another
// minDiscoveryTTL (or the TTL, if shorter) before the next try: a document seldom
// changes, and a server that is briefly down should neither fail every caller
// nor be asked again by each. A document fetched more than maxStaleDiscovery ago
// is not served.
func (d *Discovery) keepStale(key string, err error) (any, bool) {
	if !Temporary(err) {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.cache[key]
	if !ok || d.now().Sub(c.fetched) > maxStaleDiscovery {
		return nil, false
	}
	c.expires = d.now().Add(min(d.ttl(), minDiscoveryTTL))
	d.cache[key] = c
	return c.doc, true
}

func (d *Discovery) ttl() time.Duration {
	if d.TTL <= 0 {
		return DefaultDiscoveryTTL
	}
	return d.TTL
}

// store caches doc under key for the TTL, or for the server's max-age when that
// is shorter (but at least minDiscoveryTTL). maxAge is negative when the server
// gave none.
func (d *Discovery) store(key string, doc any, maxAge time.Duration) {
	ttl := d.ttl()
	if maxAge >= 0 && maxAge < ttl {
		ttl = min(max(maxAge, minDiscoveryTTL), ttl)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cache == nil {
		d.cache = make(map[string]cachedDoc)
	}
	now := d.now()
	if len(d.cache) >= discoverySweepAt {
		for k, c := range d.cache {
			if now.Sub(c.fetched) > maxStaleDiscovery && !now.Before(c.expires) {
				delete(d.cache, k)
			}
		}
	}
	d.cache[key] = cachedDoc{doc: doc, fetched: now, expires: now.Add(ttl)}
}

// errNotHere marks a well-known location that has no document, so the next one is
// tried.
var errNotHere = errors.New("no metadata document here")

func (d *Discovery) fetch(ctx context.Context, issuer string) (*Metadata, time.Duration, error) {
	locations, err := wellKnownURLs(issuer, d.AllowInsecureHTTP)
	if err != nil {
		return nil, 0, err
	}
	var misses []string
	for _, loc := range locations {
		m, maxAge, err := d.fetchOne(ctx, loc)
		if errors.Is(err, errNotHere) {
			misses = append(misses, err.Error())
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if m.Issuer != issuer {
			return nil, 0, fmt.Errorf("pixie: discovery %s: document issuer %q does not equal the requested issuer %q; refusing it (RFC 8414 section 3.3: it may be another server's document)", loc, m.Issuer, issuer)
		}
		if err := m.checkURLs(d.AllowInsecureHTTP); err != nil {
			return nil, 0, fmt.Errorf("pixie: discovery %s: %w", loc, err)
		}
		return m, maxAge, nil
	}
	return nil, 0, fmt.Errorf("pixie: discovery for %s: no metadata document found (%s)", issuer, strings.Join(misses, "; "))
}

// wellKnownURLs lists where the metadata of issuer may be, in the order tried.
func wellKnownURLs(issuer string, allowInsecure bool) ([]string, error) {
	if err := wire.CheckURL(issuer, allowInsecure); err != nil {
		return nil, fmt.Errorf("pixie: discovery: issuer: %w", err)
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("pixie: discovery: issuer: %w", err)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("pixie: discovery: issuer %q must not have a query (RFC 8414 section 2)", issuer)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	at := func(p string) string {
		c := *u
		c.RawPath = ""
		c.Path = ""
		return c.String() + p
	}
	urls := []string{
		at("/.well-known/oauth-authorization-server" + path),
		at(path + "/.well-known/openid-configuration"),
	}
	if path != "" {
		urls = append(urls,
			at("/.well-known/openid-configuration"+path),
			at(path+"/.well-known/oauth-authorization-server"))
	}
	return urls, nil
}

// fetchOne GETs one well-known location. It returns an error wrapping errNotHere
// when the location has no document, and the response's max-age (negative if none).
func (d *Discovery) fetchOne(ctx context.Context, loc string) (*Metadata, time.Duration, error) {
	doc, err := d.get(ctx, loc)
	if err != nil {
		return nil, 0, err
	}
	m, err := DecodeMetadata(doc.body)
	if err != nil {
		return nil, 0, fmt.Errorf("pixie: discovery %s (HTTP %d, Content-Type %q): %w", loc, doc.status, doc.contentType, err)
	}
	return m, doc.maxAge, nil
}

// fetchedDoc is the body of a document a [Discovery] fetched, with what
// decoding errors and caching need of its response.
type fetchedDoc struct {
	body        []byte
	status      int
	contentType string
	maxAge      time.Duration // negative: the server gave none
}

// get GETs a JSON document at loc, following only redirects that pass the https
// rules, and reading at most wire.MaxBody bytes. It returns an error wrapping
// errNotHere for a 404, a 410 or an HTML page, and an error unwrapping to an
// *Error for other error statuses.
func (d *Discovery) get(ctx context.Context, loc string) (*fetchedDoc, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, fmt.Errorf("pixie: discovery %s: %w", loc, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := wire.GuardRedirects(d.HTTPClient, d.AllowInsecureHTTP).Do(req)
	if err != nil {
		return nil, fmt.Errorf("pixie: discovery %s: %w", loc, err)
	}
	defer resp.Body.Close()
	body, err := wire.ReadBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("pixie: discovery %s (HTTP %d): reading body: %w", loc, resp.StatusCode, err)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s: HTTP %d: %w", loc, resp.StatusCode, errNotHere)
	case resp.StatusCode == http.StatusOK && mediaType == "text/html":
		return nil, fmt.Errorf("%s: an HTML page: %w", loc, errNotHere)
	case resp.StatusCode != http.StatusOK:
		return nil, &discoveryStatusError{
			msg: fmt.Sprintf("pixie: discovery %s: unexpected HTTP %d %s (body %q)", loc, resp.StatusCode, http.StatusText(resp.StatusCode), metadataSnippet(body, 200)),
			err: &Error{Op: "discovery", StatusCode: resp.StatusCode, Body: body[:min(len(body), MaxErrorBody)]},
		}
	}
	return &fetchedDoc{body: body, status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), maxAge: cacheMaxAge(resp.Header)}, nil
}

// discoveryStatusError is an HTTP error status of a metadata request. It unwraps to an
// *Error with the status, so that [Temporary] reports 5xx and 429 responses.
type discoveryStatusError struct {
	msg string
	err *Error
}

func (e *discoveryStatusError) Error() string { return e.msg }
func (e *discoveryStatusError) Unwrap() error { return e.err }

// cacheMaxAge returns the Cache-Control max-age of a response (RFC 9111 section
// 5.2.2.1), 0 for no-store or no-cache, and -1 when there is none.
func cacheMaxAge(h http.Header) time.Duration {
	age := time.Duration(-1)
	for _, v := range h.Values("Cache-Control") {
		for _, dir := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				if n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64); err == nil && n >= 0 {
					age = time.Duration(min(n, int64(365*24*time.Hour/time.Second))) * time.Second
				}
			}
		}
	}
	return age
}
