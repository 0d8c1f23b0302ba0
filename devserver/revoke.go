package devserver

import (
	"net/http"

	"github.com/pixieauth/pixie"
)

// handleRevoke serves the revocation endpoint (RFC 7009 section 2). Revoking a
// refresh token revokes its whole family, access tokens included; revoking an
// access token revokes that token. Unknown tokens are answered with 200, as the
// RFC asks; tokens of other clients are refused. The token_type_hint is ignored:
// every token type is searched, and a hint, even an unknown one, never causes an
// error (section 2.1).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, c, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	token := form.Get("token")
	if token == "" {
		writeError(w, r, oauthError(pixie.ErrInvalidRequest, "token is missing"))
		return
	}
	s.mu.Lock()
	var owner string
	key := tokenKey(token)
	if rt, ok := s.refresh[key]; ok {
		if owner = rt.clientID; owner == c.ID {
			rt.revoked = true
			s.persistOrLog(func(d *stateDB) error { return d.putRefresh(key, rt) })
			s.revokeFamilyLocked(rt.family)
		}
	} else if at, ok := s.access[key]; ok {
		if owner = at.clientID; owner == c.ID {
			at.revoked = true
			s.persistOrLog(func(d *stateDB) error { return d.putAccess(key, at) })
		}
	}
	s.mu.Unlock()
	if owner != "" && owner != c.ID {
		writeError(w, r, oauthError(pixie.ErrUnauthorizedClient, "the token was issued to another client"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
