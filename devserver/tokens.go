package devserver

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// grantInfo is what a grant authorizes: for whom, to which client, which scope.
// Codes, access tokens and refresh tokens carry it.
type grantInfo struct {
	clientID string
	user     *User // nil for tokens issued to the client itself
	subject  string
	scope    []string
	audience []string
	authTime time.Time
	jkt      string         // DPoP key thumbprint the tokens are bound to
	family   string         // tokens issued from one code or device grant, and their refreshes
	act      map[string]any // RFC 8693 section 4.1 actor
	// narrowed is the scope of the access token when a refresh asked for less
	// than the grant; the refresh token keeps the grant's (RFC 6749 section 6).
	narrowed []string
	// narrowedAudience is likewise the audience of the access token when a
	// refresh named some of the grant's resources (RFC 8707 section 2.2).
	narrowedAudience []string
}

// family groups the tokens descending from one grant, so reuse of a code or of a
// rotated refresh token can revoke them together.
type family struct{ revoked bool }

type accessRecord struct {
	grantInfo
	id       string
	issuedAt time.Time
	expiry   time.Time
	revoked  bool
}

type refreshRecord struct {
	grantInfo
	issuedAt time.Time
	expiry   time.Time
	rotated  bool
	revoked  bool
	// boundJKT is the DPoP key a public client's refresh token is bound to
	// (RFC 9449 section 5); a confidential client's is bound by its authentication.
	boundJKT string
	// rotatedAt and successor (its token key) say when the token was rotated
	// out and what replaced it, for [Options.RotationGracePeriod]. They are
	// kept in memory only: after a restart, a replay is a reuse.
	rotatedAt time.Time
	successor string
}

// tokenResponse is the RFC 6749 section 5.1 success response.
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	Scope           string `json:"scope,omitempty"`
	IDToken         string `json:"id_token,omitempty"`
}

// issueTokens issues an access token for g. For a grant the user made through
// the client (code, device, refresh, password: loggedIn), it also issues a refresh
// token and, when the scope has openid, an ID token with nonce if given. The
// tokens join g's family, or a new one.
func (s *Server) issueTokens(g grantInfo, loggedIn bool, nonce string) (*tokenResponse, error) {
	now := s.now()
	ttl := s.opts.AccessTokenTTL
	if f := s.Faults().AccessTokenTTL; f > 0 {
		ttl = f
	}
	if g.family == "" {
		g.family = randomString(12)
	}
	if g.subject == "" {
		g.subject = g.clientID
		if g.user != nil {
			g.subject = g.user.Subject
		}
	}
	if len(g.audience) == 0 {
		g.audience = []string{s.issuer}
	}
	ag := g
	if g.narrowed != nil {
		ag.scope = g.narrowed
	}
	if g.narrowedAudience != nil {
		ag.audience = g.narrowedAudience
	}
	g.narrowed, ag.narrowed = nil, nil
	g.narrowedAudience, ag.narrowedAudience = nil, nil
	rec := &accessRecord{grantInfo: ag, id: randomString(16), issuedAt: now, expiry: now.Add(ttl)}
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: int64(ttl / time.Second), Scope: strings.Join(ag.scope, " ")}
	if g.jkt != "" {
		resp.TokenType = "DPoP"
	}
	var err error
	if s.opts.AccessTokenFormat == FormatOpaque {
		resp.AccessToken = randomString(32)
	} else if resp.AccessToken, err = s.keys.sign(jose.RS256, "at+jwt", s.accessClaims(rec)); err != nil {
		return nil, err
	}
	if loggedIn && g.user != nil && slices.Contains(ag.scope, "openid") {
		if resp.IDToken, err = s.idToken(ag, now, nonce, resp.AccessToken); err != nil {
			return nil, err
		}
	}
	var rt *refreshRecord
	if loggedIn {
		resp.RefreshToken = randomString(32)
		rt = &refreshRecord{grantInfo: g, issuedAt: now, expiry: now.Add(s.opts.RefreshTokenTTL)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt != nil && s.clients[g.clientID].public() {
		rt.boundJKT = g.jkt
	}
	f, known := s.families[g.family]
	if !known {
		f = &family{}
	}
	atKey, rtKey := tokenKey(resp.AccessToken), tokenKey(resp.RefreshToken)
	err = s.persist(func(d *stateDB) error {
		if rt != nil {
			if err := d.putRefresh(rtKey, rt); err != nil {
				return err
			}
		}
		if !known {
			if err := d.putFamily(g.family, f); err != nil {
				return err
			}
		}
		return d.putAccess(atKey, rec)
	})
	if err != nil {
		return nil, err
	}
	s.families[g.family] = f
	s.access[atKey] = rec
	if rt != nil {
		s.refresh[rtKey] = rt
	}
	s.countIssuedLocked(now)
	return resp, nil
}

// accessClaims are the claims of an RFC 9068 JWT access token.
func (s *Server) accessClaims(rec *accessRecord) map[string]any {
	c := map[string]any{
		"iss":       s.issuer,
		"sub":       rec.subject,
		"aud":       rec.audience,
		"client_id": rec.clientID,
		"iat":       rec.issuedAt.Unix(),
		"exp":       rec.expiry.Unix(),
		"jti":       rec.id,
	}
	if len(rec.scope) > 0 {
		c["scope"] = strings.Join(rec.scope, " ")
	}
	if !rec.authTime.IsZero() {
		c["auth_time"] = rec.authTime.Unix()
	}
	if rec.jkt != "" {
		c["cnf"] = map[string]string{"jkt": rec.jkt}
	}
	if rec.act != nil {
		c["act"] = rec.act
	}
	return c
}

// idToken signs an OpenID Connect ID token (OIDC Core section 2) with at_hash
// (section 3.1.3.6), and the profile and email claims the scope asks for.
func (s *Server) idToken(g grantInfo, now time.Time, nonce, accessToken string) (string, error) {
	sum := sha256.Sum256([]byte(accessToken))
	c := map[string]any{
		"iss":     s.issuer,
		"sub":     g.subject,
		"aud":     g.clientID,
		"azp":     g.clientID,
		"iat":     now.Unix(),
		"exp":     now.Add(s.opts.IDTokenTTL).Unix(),
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]),
	}
	if !g.authTime.IsZero() {
		c["auth_time"] = g.authTime.Unix()
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	for k, v := range userClaims(g.user, g.scope) {
		c[k] = v
	}
	return s.keys.sign(jose.RS256, "JWT", c)
}

// userClaims returns the claims of user that scope grants.
func userClaims(u *User, scope []string) map[string]any {
	c := map[string]any{}
	if slices.Contains(scope, "profile") {
		c["name"] = u.Name
		c["preferred_username"] = u.Username
	}
	if slices.Contains(scope, "email") && u.Email != "" {
		c["email"] = u.Email
	}
	return c
}

// activeAccess returns the record of a valid access token: known, not expired, not
// revoked itself or through its family.
func (s *Server) activeAccess(token string, now time.Time) (*accessRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.access[tokenKey(token)]
	if !ok || rec.revoked || s.families[rec.family].revoked || !now.Before(rec.expiry) {
		return nil, false
	}
	return rec, true
}

// sweepEvery is how many codes and access tokens are issued between sweeps of
// expired records.
const sweepEvery = 1024

// countIssuedLocked counts an issued code or access token, sweeping expired
// records every sweepEvery. s.mu is held.
func (s *Server) countIssuedLocked(now time.Time) {
	if s.issued++; s.issued%sweepEvery == 0 {
		s.sweepLocked(now)
	}
}

// codeGrace is how long a used code is remembered after it expires, so that its
// reuse still revokes the tokens issued from it.
const codeGrace = 10 * time.Minute

// sweepLocked forgets expired tokens and codes, and the families no remaining
// code or token belongs to, in memory and in the state file. s.mu is held.
func (s *Server) sweepLocked(now time.Time) {
	live := map[string]bool{}
	for k, r := range s.access {
		if !now.Before(r.expiry) {
			delete(s.access, k)
		} else {
			live[r.family] = true
		}
	}
	for k, r := range s.refresh {
		if !now.Before(r.expiry) {
			delete(s.refresh, k)
		} else {
			live[r.family] = true
		}
	}
	for k, c := range s.codes {
		if !now.Before(c.expiry.Add(codeGrace)) {
			delete(s.codes, k)
		} else {
			live[c.family] = true
		}
	}
	for id := range s.families {
		if !live[id] {
			delete(s.families, id)
		}
	}
	s.persistOrLog(func(d *stateDB) error { return d.sweep(now) })
}

// activeRefresh returns the record of a usable refresh token: known, not rotated
// out, not expired, not revoked.
func (s *Server) activeRefresh(token string, now time.Time) (*refreshRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.refresh[tokenKey(token)]
	if !ok || rec.rotated || rec.revoked || s.families[rec.family].revoked || !now.Before(rec.expiry) {
		return nil, false
	}
	return rec, true
}

// revokeFamilyLocked revokes every token descending from one grant. s.mu is held.
func (s *Server) revokeFamilyLocked(id string) {
	f, ok := s.families[id]
	if !ok {
		f = &family{}
		s.families[id] = f
	}
	f.revoked = true
	s.persistOrLog(func(d *stateDB) error { return d.putFamily(id, f) })
}

// tokenKey is the key under which a token is stored: its SHA-256 digest, so the
// server's state (and its database, if any) holds no usable token.
func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
