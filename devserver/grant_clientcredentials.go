package devserver

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/pixieauth/pixie"
)

// grantClientCredentials issues an access token to a confidential client for
// itself (RFC 6749 section 4.4), without a refresh token (section 4.4.3).
func (s *Server) grantClientCredentials(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	if c.public() {
		return nil, oauthError(pixie.ErrUnauthorizedClient, "a public client cannot use client_credentials (RFC 6749 section 4.4)")
	}
	scope, err := requestedScope(form, c)
	if err != nil {
		return nil, err
	}
	aud, err := resourceParams(form)
	if err != nil {
		return nil, err
	}
	return s.issueTokens(grantInfo{clientID: c.ID, scope: scope, audience: aud, jkt: jkt}, false, "")
}

// resourceParams returns the resource (RFC 8707) and audience (RFC 8693) values,
// which become the access token's aud. A resource must be an absolute URI
// without a fragment (RFC 8707 section 2).
func resourceParams(form url.Values) ([]string, error) {
	for _, v := range form["resource"] {
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, oauthError(pixie.ErrInvalidTarget, "resource must be an absolute URI without a fragment (RFC 8707 section 2)")
		}
	}
	return slices.Concat(form["resource"], form["audience"]), nil
}
