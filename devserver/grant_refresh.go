package devserver

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/pixieauth/pixie"
)

// grantRefreshToken refreshes (RFC 6749 section 6) with rotation: every refresh
// token is single use and the response carries its successor. Presenting a
// rotated-out refresh token again revokes its whole family, successors and access
// tokens included (RFC 9700 section 4.14.2). The access token's scope may be
// narrowed, not widened; the new refresh token keeps the grant's scope.
func (s *Server) grantRefreshToken(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	value := form.Get("refresh_token")
	if value == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "refresh_token is missing")
	}
	if s.takeFault(func(f *Faults) *int { return &f.FailRefresh }) {
		return nil, oauthError(pixie.ErrInvalidGrant, "refresh refused (injected fault)")
	}
	now := s.now()
	scope, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	rec, ok := s.refresh[tokenKey(value)]
	switch {
	case !ok:
		err = oauthError(pixie.ErrInvalidGrant, "unknown refresh token")
	case rec.clientID != c.ID:
		err = oauthError(pixie.ErrInvalidGrant, "the refresh token was issued to another client")
	case rec.rotated:
		s.revokeFamilyLocked(rec.family)
		err = oauthError(pixie.ErrInvalidGrant, "refresh token reused after rotation; every token of this grant is revoked")
	case rec.revoked || s.families[rec.family].revoked:
		err = oauthError(pixie.ErrInvalidGrant, "the refresh token was revoked")
	case !now.Before(rec.expiry):
		err = oauthError(pixie.ErrInvalidGrant, "the refresh token expired")
	case rec.boundJKT != "" && rec.boundJKT != jkt:
		err = oauthError(pixie.ErrInvalidGrant, "the refresh token is bound to a DPoP key; send a proof signed with it (RFC 9449 section 5)")
	}
	if err == nil {
		for _, sc := range scope {
			if !slices.Contains(rec.scope, sc) {
				err = oauthError(pixie.ErrInvalidScope, "scope %s exceeds the original grant (RFC 6749 section 6)", sc)
				break
			}
		}
	}
	if err == nil {
		rec.rotated = true
		s.persistOrLog(func(d *stateDB) error { return d.putRefresh(tokenKey(value), rec) })
	}
	var g grantInfo
	if rec != nil {
		g = rec.grantInfo
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if len(scope) > 0 {
		g.narrowed = scope
	}
	// The new access token is bound to this request's DPoP key, if any (RFC 9449
	// section 5).
	g.jkt = jkt
	return s.issueTokens(g, true, "")
}
