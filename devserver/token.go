package devserver

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pixieauth/pixie"
)

// grantFunc handles one grant type at the token endpoint for an authenticated
// client. jkt is the thumbprint of the request's verified DPoP key, or "".
type grantFunc func(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error)

func (s *Server) grant(gt string) (grantFunc, bool) {
	switch gt {
	case grantAuthorizationCode:
		return s.grantAuthorizationCode, true
	case grantClientCredentials:
		return s.grantClientCredentials, true
	case grantRefreshToken:
		return s.grantRefreshToken, true
	case grantDeviceCode:
		return s.grantDeviceCode, true
	case grantTokenExchange:
		return s.grantTokenExchange, true
	case grantJWTBearer:
		return s.grantJWTBearer, true
	case grantPassword:
		return s.grantPassword, s.opts.EnablePassword
	}
	return nil, false
}

// handleToken serves the token endpoint (RFC 6749 section 3.2).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	resp, err := s.token(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if resp.RefreshToken != "" && infoFrom(r).grantType == grantRefreshToken &&
		s.takeFault(func(f *Faults) *int { return &f.DropAfterRefresh }) {
		dropConnection(w)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, error) {
	form, err := parseForm(w, r)
	if err != nil {
		return nil, err
	}
	gt := form.Get("grant_type")
	if gt == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "grant_type is missing")
	}
	handler, ok := s.grant(gt)
	if ok {
		// Only supported grant types become labels, so made-up ones add no counters.
		infoFrom(r).grantType = gt
	}
	c, err := s.authenticateClient(r, form)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, oauthError(pixie.ErrUnsupportedGrantType, "grant type %s is not supported", gt)
	}
	if !c.allows(gt) {
		return nil, oauthError(pixie.ErrUnauthorizedClient, "client %s may not use grant type %s", c.ID, gt)
	}
	jkt, err := s.checkDPoP(w, r, "")
	if err != nil {
		return nil, err
	}
	return handler(r, form, c, jkt)
}

// parseScope splits a scope parameter (RFC 6749 section 3.3), refusing characters
// outside the allowed set.
func parseScope(raw string) ([]string, error) {
	scope := strings.Split(raw, " ")
	if raw == "" {
		return nil, nil
	}
	for _, sc := range scope {
		if sc == "" {
			return nil, oauthError(pixie.ErrInvalidScope, "scope has an empty entry (scopes are separated by single spaces)")
		}
		for _, ch := range sc {
			if ch < 0x21 || ch == 0x22 || ch == 0x5c || ch > 0x7e {
				return nil, oauthError(pixie.ErrInvalidScope, "scope contains a character RFC 6749 section 3.3 does not allow")
			}
		}
	}
	return slices.Compact(scope), nil
}

// requestedScope parses the scope parameter of form and checks it against c.
func requestedScope(form url.Values, c *Client) ([]string, error) {
	scope, err := parseScope(form.Get("scope"))
	if err != nil {
		return nil, err
	}
	return scope, c.checkScope(scope)
}
