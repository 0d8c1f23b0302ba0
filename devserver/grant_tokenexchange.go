package devserver

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pixieauth/pixie"
)

// Token type identifiers (RFC 8693 section 3).
const (
	tokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeID     = "urn:ietf:params:oauth:token-type:id_token"
	tokenTypeJWT    = "urn:ietf:params:oauth:token-type:jwt"
)

// grantTokenExchange exchanges a subject token, and optionally an actor token, for
// a new access token (RFC 8693 section 2). The subject token is an access token
// this server issued, or a JWT (an ID token or another JWT) signed by this server,
// a trusted issuer, or the requesting client's registered keys. The new token
// carries the subject's identity, a scope no wider than the subject's and the
// client's (see exchangeScope), the requested audience or resource as aud, and
// the actor in act (section 4.1).
func (s *Server) grantTokenExchange(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	switch rt := form.Get("requested_token_type"); rt {
	case "", tokenTypeAccess:
	default:
		return nil, oauthError(pixie.ErrInvalidRequest, "requested_token_type %s is not supported; only access tokens are issued", rt)
	}
	subject, err := s.exchangedToken(form.Get("subject_token"), form.Get("subject_token_type"), c, "subject_token")
	if err != nil {
		return nil, err
	}
	g := grantInfo{clientID: c.ID, user: subject.user, subject: subject.subject, authTime: subject.authTime, jkt: jkt}
	if form.Has("actor_token") || form.Has("actor_token_type") {
		actor, err := s.exchangedToken(form.Get("actor_token"), form.Get("actor_token_type"), c, "actor_token")
		if err != nil {
			return nil, err
		}
		g.act = map[string]any{"sub": actor.subject}
	}
	if g.scope, err = exchangeScope(form, c, subject); err != nil {
		return nil, err
	}
	if g.audience, err = resourceParams(form); err != nil {
		return nil, err
	}
	resp, err := s.issueTokens(g, false, "")
	if err != nil {
		return nil, err
	}
	resp.IssuedTokenType = tokenTypeAccess
	return resp, nil
}

// exchangeScope returns the scope of the token issued to client c for subject
// (RFC 8693 sections 2.1 and 2.2.2), which never widens either's: a requested
// scope is refused with invalid_scope beyond what c may request or, for an
// access token subject, beyond the subject's scope; without a request, it is
// the subject's scope less what c may not request. A JWT subject has no scope,
// so c's scopes alone bound a request for one.
func exchangeScope(form url.Values, c *Client, subject grantInfo) ([]string, error) {
	scope, err := requestedScope(form, c)
	if err != nil {
		return nil, err
	}
	if len(scope) == 0 {
		if len(c.Scopes) == 0 {
			return subject.scope, nil
		}
		return slices.DeleteFunc(slices.Clone(subject.scope), func(sc string) bool { return !slices.Contains(c.Scopes, sc) }), nil
	}
	if subject.clientID != "" {
		for _, sc := range scope {
			if !slices.Contains(subject.scope, sc) {
				return nil, oauthError(pixie.ErrInvalidScope, "scope %s is beyond the subject token's scope", sc)
			}
		}
	}
	return scope, nil
}

// exchangedToken validates a subject or actor token of the given type. An
// access token's grant keeps its client ID and scope; a JWT's has neither.
func (s *Server) exchangedToken(token, typ string, c *Client, param string) (grantInfo, error) {
	if token == "" || typ == "" {
		return grantInfo{}, oauthError(pixie.ErrInvalidRequest, "%s and %s_type are required", param, param)
	}
	switch typ {
	case tokenTypeAccess:
		rec, ok := s.activeAccess(token, s.now())
		if !ok {
			return grantInfo{}, oauthError(pixie.ErrInvalidRequest, "%s is not an active access token of this server", param)
		}
		return rec.grantInfo, nil
	case tokenTypeID, tokenTypeJWT:
		if s.issuedAccess(token) {
			// One of this server's JWT access tokens: its revocation counts.
			return s.exchangedToken(token, tokenTypeAccess, c, param)
		}
		claims, err := s.verifyJWT(token, c)
		if err != nil {
			return grantInfo{}, oauthError(pixie.ErrInvalidRequest, "%s: %s", param, err.Description)
		}
		if claims.Expiry == nil || !s.now().Before(claims.Expiry.Time()) || claims.Subject == "" {
			return grantInfo{}, oauthError(pixie.ErrInvalidRequest, "%s is expired or has no sub", param)
		}
		return grantInfo{subject: claims.Subject, user: s.userBySubject(claims.Subject)}, nil
	}
	return grantInfo{}, oauthError(pixie.ErrInvalidRequest, "%s_type %s is not supported", param, typ)
}

// verifyJWT verifies the signature of a JWT issued by this server, by a trusted
// issuer, or by client c with its registered keys, chosen by the iss claim.
func (s *Server) verifyJWT(raw string, c *Client) (jwt.Claims, *pixie.Error) {
	var claims jwt.Claims
	tok, err := jwt.ParseSigned(raw, asymmetricAlgs)
	if err != nil {
		return claims, oauthError(pixie.ErrInvalidGrant, "not a JWT signed with an asymmetric algorithm")
	}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return claims, oauthError(pixie.ErrInvalidGrant, "unreadable JWT claims")
	}
	var set jose.JSONWebKeySet
	switch {
	case claims.Issuer == s.issuer:
		set = s.KeySet()
	case c != nil && claims.Issuer == c.ID && len(c.Keys.Keys) > 0:
		set = c.Keys
	default:
		i := slices.IndexFunc(s.opts.TrustedIssuers, func(t TrustedIssuer) bool { return t.Issuer == claims.Issuer })
		if i < 0 {
			return claims, oauthError(pixie.ErrInvalidGrant, "the JWT issuer is not trusted")
		}
		set = s.opts.TrustedIssuers[i].Keys
	}
	claims = jwt.Claims{}
	if !verifyAny(tok, candidateKeys(set, tok.Headers[0].KeyID), &claims) {
		return claims, oauthError(pixie.ErrInvalidGrant, "the JWT signature does not verify")
	}
	return claims, nil
}

// issuedAccess reports whether token is an access token this server issued and
// still remembers, active or not.
func (s *Server) issuedAccess(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.access[tokenKey(token)]
	return ok
}

// userBySubject returns the user with the given sub, or nil.
func (s *Server) userBySubject(sub string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Subject == sub {
			return u
		}
	}
	return nil
}
