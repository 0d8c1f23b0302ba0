package devserver

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pixieauth/pixie"
)

// The page the end_session_endpoint shows when it does not send the browser
// back to the client. It joins the pages' templates, so it shares their
// layout and render's headers (CSP included).
var _ = template.Must(pages.New("signed_out").Parse(`{{template "head" .}}
<p id="signed-out">You are signed out.</p>
{{template "foot" .}}`))

// handleEndSession is the end_session_endpoint of OpenID Connect RP-Initiated
// Logout 1.0 (section 2), by GET or by a POST form. It ends the browser's
// session at this server, then sends the browser to post_logout_redirect_uri
// with state (section 3) when that URI is registered for the client, and
// otherwise shows a page saying the user is signed out.
//
// The client is the audience of id_token_hint, which must be an ID token of
// this server (an expired one is accepted, section 2: the user may sign out
// long after signing in), or else client_id; when both are given they must
// agree (section 2), and a request that breaks either rule is refused without
// signing out. A development server signs out without asking the user first,
// which section 2 would have a production server do for a request without
// id_token_hint.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		form, err := parseForm(w, r)
		if err != nil {
			errorPage(w, r, err.(*pixie.Error)) // parseForm fails only with *pixie.Error
			return
		}
		params = form
	default:
		methodNotAllowed(w, "GET, POST")
		return
	}
	clientID, e := s.logoutClient(params)
	if e != nil {
		errorPage(w, r, e)
		return
	}
	setClient(r, clientID)
	s.endBrowserSession(w, r)

	target := params.Get("post_logout_redirect_uri")
	if target == "" {
		render(w, http.StatusOK, "signed_out", page{Title: "Signed out"})
		return
	}
	c, ok := s.Client(clientID)
	if !ok || !slices.Contains(c.PostLogoutRedirectURIs, target) {
		e := oauthError(pixie.ErrInvalidRequest, "post_logout_redirect_uri is not registered for the client, so this page does not send you back to it")
		if info := infoFrom(r); info != nil {
			info.errorCode = e.Code
		}
		render(w, http.StatusBadRequest, "signed_out", page{Title: "Signed out", Error: e.Code + ": " + e.Description})
		return
	}
	u, err := url.Parse(target) // checked when the client was registered
	if err != nil {
		errorPage(w, r, oauthError(pixie.ErrInvalidRequest, "post_logout_redirect_uri is not a URI"))
		return
	}
	if state := params.Get("state"); state != "" {
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// logoutClient returns the client a logout request names: the audience of its
// id_token_hint, or its client_id ("" when it names none).
func (s *Server) logoutClient(params url.Values) (string, *pixie.Error) {
	clientID, hint := params.Get("client_id"), params.Get("id_token_hint")
	if hint == "" {
		return clientID, nil
	}
	aud, e := s.idTokenClient(hint)
	if e != nil {
		return "", e
	}
	if clientID != "" && clientID != aud {
		return "", oauthError(pixie.ErrInvalidRequest, "client_id %s is not the client id_token_hint was issued to", clientID)
	}
	return aud, nil
}

// idTokenClient verifies that raw is an ID token this server signed, expired
// or not, and returns the client it was issued to (its one audience). An ID
// token is told from a JWT access token by its typ header, "JWT" rather than
// "at+jwt" (RFC 9068 section 2.1).
func (s *Server) idTokenClient(raw string) (string, *pixie.Error) {
	bad := oauthError(pixie.ErrInvalidRequest, "id_token_hint is not an ID token of this server")
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || tok.Headers[0].ExtraHeaders[jose.HeaderType] != "JWT" {
		return "", bad
	}
	var claims jwt.Claims
	if !verifyAny(tok, candidateKeys(s.KeySet(), tok.Headers[0].KeyID), &claims) ||
		claims.Issuer != s.issuer || len(claims.Audience) != 1 {
		return "", bad
	}
	return claims.Audience[0], nil
}

// endBrowserSession forgets the browser's session at this server, if it has
// one, and deletes its session cookie.
func (s *Server) endBrowserSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	s.setCookie(w, sessionCookie, "", -time.Second)
}
