package devserver

import (
	"net/http"
	"slices"
	"strings"

	"github.com/pixieauth/pixie"
)

// handleUserinfo serves the OpenID Connect userinfo endpoint (OIDC Core section
// 5.3) to a bearer (RFC 6750 section 2.1) or DPoP (RFC 9449 section 7) access
// token whose scope has openid.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	challenge := "Bearer"
	if strings.EqualFold(scheme, "DPoP") {
		challenge = "DPoP"
	}
	fail := func(e *pixie.Error) {
		w.Header().Set("WWW-Authenticate", challenge+` realm="pixie devserver", error="`+e.Code+`"`)
		writeError(w, r, e)
	}
	if token == "" || challenge == "Bearer" && !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pixie devserver"`)
		writeError(w, r, oauthError(pixie.ErrInvalidToken, "send the access token in the Authorization header"))
		return
	}
	rec, ok := s.activeAccess(token, s.now())
	if !ok {
		fail(oauthError(pixie.ErrInvalidToken, "the access token is unknown, expired or revoked"))
		return
	}
	setClient(r, rec.clientID)
	if rec.jkt != "" {
		if challenge != "DPoP" {
			fail(oauthError(pixie.ErrInvalidToken, "the access token is DPoP-bound; use the DPoP scheme with a proof"))
			return
		}
		jkt, err := s.checkDPoP(w, r, token)
		if err != nil || jkt != rec.jkt {
			e := oauthError(pixie.ErrInvalidDPoPProof, "the DPoP proof is missing, invalid or signed with another key")
			e.StatusCode = http.StatusUnauthorized
			fail(e)
			return
		}
	} else if challenge == "DPoP" {
		fail(oauthError(pixie.ErrInvalidToken, "the access token is not DPoP-bound; use the Bearer scheme"))
		return
	}
	if rec.user == nil || !slices.Contains(rec.scope, "openid") {
		e := oauthError(pixie.ErrInsufficientScope, "userinfo needs a user's token with the openid scope")
		fail(e)
		return
	}
	claims := userClaims(rec.user, rec.scope)
	claims["sub"] = rec.subject
	writeJSON(w, http.StatusOK, claims)
}
