package devserver

import (
	"net/http"
	"net/url"

	"github.com/pixieauth/pixie"
)

// grantJWTBearer issues an access token for the subject of a JWT assertion
// (RFC 7523 section 2.1) from a trusted issuer or signed by the client itself,
// checked as section 3 requires.
func (s *Server) grantJWTBearer(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	assertion := form.Get("assertion")
	if assertion == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "assertion is missing")
	}
	claims, perr := s.verifyJWT(assertion, c)
	if perr != nil {
		return nil, perr
	}
	if claims.Issuer == s.issuer {
		return nil, oauthError(pixie.ErrInvalidGrant, "assertions must come from a trusted issuer or the client, not this server")
	}
	if claims.Subject == "" {
		return nil, oauthError(pixie.ErrInvalidGrant, "the assertion has no sub claim")
	}
	if err := s.checkAssertionClaims(claims, []string{s.issuer, s.url(pathToken)}, "jwt-bearer:"+claims.Issuer, pixie.ErrInvalidGrant); err != nil {
		return nil, err
	}
	scope, err := requestedScope(form, c)
	if err != nil {
		return nil, err
	}
	return s.issueTokens(grantInfo{clientID: c.ID, subject: claims.Subject, user: s.userBySubject(claims.Subject),
		scope: scope, jkt: jkt}, false, "")
}
