package devserver

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/pixieauth/pixie"
)

// grantRefreshToken refreshes (RFC 6749 section 6) with rotation: every refresh
// token is single use and the response carries its successor. Presenting a
// rotated-out refresh token again revokes its whole family, successors and access
// tokens included (RFC 9700 section 4.14.2, RFC 6749 section 10.4), unless the
// rotation grace period allows it (see graceLocked). The access token's scope may
// be narrowed, not widened; the new refresh token keeps the grant's scope.
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
	resources, err := checkResources(form)
	if err != nil {
		return nil, err
	}
	var audience []string

	s.mu.Lock()
	key := tokenKey(value)
	rec, ok := s.refresh[key]
	var retired *refreshRecord // the unused successor a replay in the grace period replaces
	switch {
	case !ok:
		err = oauthError(pixie.ErrInvalidGrant, "unknown refresh token")
	case rec.clientID != c.ID:
		err = oauthError(pixie.ErrInvalidGrant, "the refresh token was issued to another client")
	case rec.rotated:
		if retired = s.graceLocked(rec, now, jkt); retired != nil {
			break
		}
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
		audience, err = resourceAudience(resources, rec.audience)
	}
	switch {
	case err != nil:
	case retired != nil:
		retired.rotated, retired.rotatedAt = true, now
		s.persistOrLog(func(d *stateDB) error { return d.putRefresh(rec.successor, retired) })
	default:
		rec.rotated, rec.rotatedAt = true, now
		s.persistOrLog(func(d *stateDB) error { return d.putRefresh(key, rec) })
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
	if len(resources) > 0 {
		g.narrowedAudience = audience
	}
	// The new access token is bound to this request's DPoP key, if any (RFC 9449
	// section 5).
	g.jkt = jkt
	resp, err := s.issueTokens(g, true, "")
	if err != nil {
		return nil, err
	}
	next := tokenKey(resp.RefreshToken)
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.successor = next
	if retired != nil {
		retired.successor = next
	}
	return resp, nil
}

// graceLocked decides whether rec, a rotated-out refresh token presented again
// (with a DPoP proof of the key jkt, if any), is a replay the rotation grace
// period ([Options.RotationGracePeriod]) allows, and if so returns rec's
// successor, which the refresh retires. s.mu is held.
//
// RFC 9700 section 4.14.2 has a rotated-out refresh token revoke its grant when
// it comes back, since it may have been stolen (RFC 6749 section 10.4). But it
// also comes back when a client crashed after the server rotated and before it
// saved the response: the client then holds only the previous token, and
// revoking the grant costs the user a new login. Within the grace period, and
// only while the successor has never been presented (a client that used the
// successor has no reason to go back), the replay gets new tokens of the same
// grant, like a refresh. The unused successor is retired in the same step
// (rotated out, with the new tokens as its successor), so the grant keeps one
// usable refresh token, and whoever holds the retired successor may in turn
// replay it within the grace period. After the grace period, or once the
// successor was used, a replay is a reuse and revokes the grant.
func (s *Server) graceLocked(rec *refreshRecord, now time.Time, jkt string) *refreshRecord {
	if s.opts.RotationGracePeriod <= 0 || !now.Before(rec.rotatedAt.Add(s.opts.RotationGracePeriod)) {
		return nil
	}
	next, ok := s.refresh[rec.successor]
	switch {
	case !ok, next.rotated, next.revoked, rec.revoked, s.families[rec.family].revoked, !now.Before(rec.expiry),
		rec.boundJKT != "" && rec.boundJKT != jkt:
		return nil
	}
	return next
}
