package devserver

import (
	"net/http"
	"slices"

	"github.com/pixieauth/pixie"
)

// handleUserinfo serves the OpenID Connect userinfo endpoint (OIDC Core section
// 5.3) to a bearer (RFC 6750 section 2.1) or DPoP (RFC 9449 section 7) access
// token whose scope has openid, minted for the issuer or for userinfo itself
// (see resource.go).
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	a, ok := s.bearerAccess(w, r, pathUserinfo, []string{s.issuer, s.url(pathUserinfo)})
	if !ok {
		return
	}
	if a.rec.user == nil || !slices.Contains(a.rec.scope, "openid") {
		a.fail(oauthError(pixie.ErrInsufficientScope, "userinfo needs a user's token with the openid scope"), "")
		return
	}
	claims := userClaims(a.rec.user, a.rec.scope)
	claims["sub"] = a.rec.subject
	writeJSON(w, http.StatusOK, claims)
}
