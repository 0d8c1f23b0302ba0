package devserver

import (
	"net/http"
	"strings"

	"github.com/pixieauth/pixie"
)

// handleIntrospect serves the introspection endpoint (RFC 7662 section 2) to
// authenticated clients. Unknown, expired and revoked tokens are {"active":false}.
// Public clients are refused with invalid_client: the endpoint must require
// authorization (RFC 7662 section 2.1), and a client_id alone is none, so
// anyone could otherwise probe for valid tokens (section 4).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	form, c, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	if c.public() {
		writeError(w, r, oauthError(pixie.ErrInvalidClient, "client %s is public; introspection needs an authenticated client (RFC 7662 section 2.1)", c.ID))
		return
	}
	token := form.Get("token")
	if token == "" {
		writeError(w, r, oauthError(pixie.ErrInvalidRequest, "token is missing"))
		return
	}
	now := s.now()
	resp := map[string]any{"active": false}
	var g grantInfo
	if at, ok := s.activeAccess(token, now); ok {
		g = at.grantInfo
		resp["token_type"] = "Bearer"
		if at.jkt != "" {
			resp["token_type"] = "DPoP"
			resp["cnf"] = map[string]string{"jkt": at.jkt}
		}
		resp["iat"], resp["exp"], resp["jti"], resp["aud"] = at.issuedAt.Unix(), at.expiry.Unix(), at.id, at.audience
	} else if rt, ok := s.activeRefresh(token, now); ok {
		g = rt.grantInfo
		resp["token_type"] = "refresh_token"
		resp["iat"], resp["exp"] = rt.issuedAt.Unix(), rt.expiry.Unix()
	}
	if g.clientID != "" {
		resp["active"] = true
		resp["iss"] = s.issuer
		resp["client_id"] = g.clientID
		resp["sub"] = g.subject
		if g.user != nil {
			resp["username"] = g.user.Username
		}
		if len(g.scope) > 0 {
			resp["scope"] = strings.Join(g.scope, " ")
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
