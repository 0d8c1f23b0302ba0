package devserver

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pixieauth/pixie"
)

// The server's own protected resources: the userinfo endpoint, and with
// [Options.ProtectedResources] a demo API at /api, each with RFC 9728 metadata
// at the well-known location for its resource identifier (section 3.1):
//
//	resource                 metadata
//	<issuer>/userinfo        <issuer>/.well-known/oauth-protected-resource/userinfo
//	<issuer>/api             <issuer>/.well-known/oauth-protected-resource/api
//
// An access token is minted for the resources the client named with the RFC
// 8707 resource parameter (its aud), or for the issuer when it named none. The
// API accepts only tokens minted for <issuer>/api; userinfo those minted for
// itself or for the issuer. /api/admin also needs the admin scope, and answers
// 403 insufficient_scope naming it, for step-up tests.
const (
	pathResourceMetadata = "/.well-known/oauth-protected-resource"
	pathAPI              = "/api"
	pathAPIAdmin         = "/api/admin"
	scopeAPI             = "api"
	scopeAdmin           = "admin"
)

// protectedResource is one of the server's protected resources.
type protectedResource struct {
	path   string   // the resource identifier is the issuer plus path
	scopes []string // scopes_supported
	name   string
}

var protectedResources = []protectedResource{
	{pathUserinfo, []string{"openid", "profile", "email"}, "pixie devserver userinfo"},
	{pathAPI, []string{scopeAPI, scopeAdmin}, "pixie devserver demo API"},
}

// ResourceMetadata returns the protected resource metadata (RFC 9728 section 2)
// of the resource at path ("/userinfo" or "/api"), and false for another path
// or when [Options.ProtectedResources] is off.
func (s *Server) ResourceMetadata(path string) (map[string]any, bool) {
	i := slices.IndexFunc(protectedResources, func(p protectedResource) bool { return p.path == path })
	if i < 0 || !s.opts.ProtectedResources {
		return nil, false
	}
	p := protectedResources[i]
	return map[string]any{
		"resource":                          s.url(p.path),
		"authorization_servers":             []string{s.issuer},
		"scopes_supported":                  p.scopes,
		"bearer_methods_supported":          []string{"header"},
		"resource_name":                     p.name,
		"dpop_signing_alg_values_supported": dpopAlgNames(),
	}, true
}

// handleResourceMetadata serves the metadata of the protected resources (RFC
// 9728 section 3).
func (s *Server) handleResourceMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	m, ok := s.ResourceMetadata(strings.TrimPrefix(r.URL.Path, pathResourceMetadata))
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSONBody(w, http.StatusOK, m)
}

// handleAPI serves the demo API: it answers a valid token minted for it with
// what the token grants.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	if !s.opts.ProtectedResources || (r.URL.Path != pathAPI && !strings.HasPrefix(r.URL.Path, pathAPI+"/")) {
		http.NotFound(w, r)
		return
	}
	a, ok := s.bearerAccess(w, r, pathAPI, []string{s.url(pathAPI)})
	if !ok {
		return
	}
	if r.URL.Path == pathAPIAdmin && !slices.Contains(a.rec.scope, scopeAdmin) {
		a.fail(oauthError(pixie.ErrInsufficientScope, "%s needs the %s scope", pathAPIAdmin, scopeAdmin), scopeAdmin)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"path":      r.URL.Path,
		"sub":       a.rec.subject,
		"client_id": a.rec.clientID,
		"scope":     strings.Join(a.rec.scope, " "),
		"aud":       a.rec.audience,
	})
}

// resourceAccess is a request to a protected resource whose token was
// accepted.
type resourceAccess struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	rec    *accessRecord
	scheme string // the challenge's scheme: the request's, Bearer or DPoP
	path   string // the resource's path, naming its metadata
}

// fail answers with e and a challenge in the request's scheme (RFC 6750
// section 3, RFC 9449 section 7.1) that names the resource's metadata (RFC 9728
// section 5.1) when [Options.ProtectedResources] is on, and scope when given.
func (a *resourceAccess) fail(e *pixie.Error, scope string) {
	c := a.scheme + ` realm="pixie devserver"`
	if e != nil {
		c += `, error="` + e.Code + `"`
	}
	if scope != "" {
		c += `, scope="` + scope + `"`
	}
	if _, ok := a.s.ResourceMetadata(a.path); ok {
		c += `, resource_metadata="` + a.s.url(pathResourceMetadata+a.path) + `"`
	}
	a.w.Header().Set("WWW-Authenticate", c)
	if e == nil {
		e = oauthError(pixie.ErrInvalidToken, "send the access token in the Authorization header")
	}
	writeError(a.w, a.r, e)
}

// bearerAccess checks the access token of a request to the resource at path:
// a bearer (RFC 6750 section 2.1) or DPoP (RFC 9449 section 7) token that is
// active, sent with a valid proof if DPoP-bound, and minted for one of
// audiences (its aud, RFC 9068 section 4 and RFC 8707). On failure it has
// answered 401 and reports false.
func (s *Server) bearerAccess(w http.ResponseWriter, r *http.Request, path string, audiences []string) (*resourceAccess, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	a := &resourceAccess{s: s, w: w, r: r, scheme: "Bearer", path: path}
	if strings.EqualFold(scheme, "DPoP") {
		a.scheme = "DPoP"
	}
	if token == "" || a.scheme == "Bearer" && !strings.EqualFold(scheme, "Bearer") {
		// No credentials: no error code (RFC 6750 section 3.1).
		a.scheme = "Bearer"
		scope := ""
		if path == pathAPI {
			scope = scopeAPI
		}
		a.fail(nil, scope)
		return nil, false
	}
	rec, ok := s.activeAccess(token, s.now())
	if !ok {
		a.fail(oauthError(pixie.ErrInvalidToken, "the access token is unknown, expired or revoked"), "")
		return nil, false
	}
	setClient(r, rec.clientID)
	if rec.jkt != "" {
		if a.scheme != "DPoP" {
			a.fail(oauthError(pixie.ErrInvalidToken, "the access token is DPoP-bound; use the DPoP scheme with a proof"), "")
			return nil, false
		}
		jkt, err := s.checkDPoP(w, r, token)
		if err != nil || jkt != rec.jkt {
			e := oauthError(pixie.ErrInvalidDPoPProof, "the DPoP proof is missing, invalid or signed with another key")
			e.StatusCode = http.StatusUnauthorized
			a.fail(e, "")
			return nil, false
		}
	} else if a.scheme == "DPoP" {
		a.fail(oauthError(pixie.ErrInvalidToken, "the access token is not DPoP-bound; use the Bearer scheme"), "")
		return nil, false
	}
	if !slices.ContainsFunc(rec.audience, func(aud string) bool { return slices.Contains(audiences, aud) }) {
		a.fail(oauthError(pixie.ErrInvalidToken, "the access token was minted for %s, not for this resource (RFC 8707)", strings.Join(rec.audience, ", ")), "")
		return nil, false
	}
	a.rec = rec
	return a, true
}

// checkResources returns the resource parameters of q (RFC 8707 section 2),
// each an absolute URI without a fragment.
func checkResources(q url.Values) ([]string, error) {
	if _, err := resourceParams(url.Values{"resource": q["resource"]}); err != nil {
		return nil, err
	}
	return q["resource"], nil
}

// resourceAudience returns the audience of a token issued at the token
// endpoint: the resources the token request names (RFC 8707 section 2.2),
// which must be among granted when the authorization named some, or else
// granted.
func resourceAudience(requested, granted []string) ([]string, error) {
	if len(requested) == 0 {
		return granted, nil
	}
	for _, r := range requested {
		if len(granted) > 0 && !slices.Contains(granted, r) {
			return nil, oauthError(pixie.ErrInvalidTarget, "resource %s was not part of the authorization (RFC 8707 section 2.2)", r)
		}
	}
	return requested, nil
}
