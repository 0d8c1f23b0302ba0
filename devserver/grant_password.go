package devserver

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/pixieauth/pixie"
)

// grantPassword is the resource owner password credentials grant (RFC 6749
// section 4.3), served only with [Options.EnablePassword].
func (s *Server) grantPassword(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	if !form.Has("username") || !form.Has("password") {
		return nil, oauthError(pixie.ErrInvalidRequest, "username and password are required")
	}
	u, err := s.checkPassword(form.Get("username"), form.Get("password"))
	if errors.As(err, new(tooManyGuesses)) {
		return nil, oauthError(pixie.ErrInvalidGrant, "%v", err)
	}
	if err != nil {
		return nil, oauthError(pixie.ErrInvalidGrant, "wrong username or password")
	}
	scope, err := requestedScope(form, c)
	if err != nil {
		return nil, err
	}
	return s.issueTokens(grantInfo{clientID: c.ID, user: u, scope: scope, authTime: s.now(), jkt: jkt}, true, "")
}
