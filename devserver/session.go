package devserver

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// sessionCookie names the browser session cookie set by a successful login.
const sessionCookie = "pixie_devserver_session"

// browserCookie names the cookie that tells a browser apart before it signs in,
// so that the forms of the login and device pages can be bound to it.
const browserCookie = "pixie_devserver_browser"

// sessionTTL bounds a browser session.
const sessionTTL = 12 * time.Hour

// session is a logged-in browser.
type session struct {
	id       string // the cookie's value
	user     *User
	authTime time.Time
}

// session returns the request's live session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil || now.Sub(sess.authTime) >= sessionTTL {
		return nil
	}
	return sess
}

// startSession logs the browser in as u with a new session identifier, never
// one the browser brought (against session fixation), and returns the session.
func (s *Server) startSession(w http.ResponseWriter, u *User, now time.Time) *session {
	sess := &session{id: randomString(24), user: u, authTime: now}
	s.mu.Lock()
	for k, old := range s.sessions {
		if now.Sub(old.authTime) >= sessionTTL {
			delete(s.sessions, k)
		}
	}
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	s.setCookie(w, sessionCookie, sess.id, sessionTTL)
	return sess
}

// setCookie sets an HttpOnly, SameSite=Lax cookie for the whole server; maxAge
// 0 makes it last as long as the browser session. Behind an https issuer the
// cookie is Secure, so it never travels over plain http.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(maxAge / time.Second), Secure: strings.HasPrefix(s.issuer, "https://")})
}

// A form's csrf_token is bound to the browser it was rendered for: to its login
// session when it has one, otherwise to its browser cookie. A token taken from
// a page the server showed to someone else (an attacker who loads the page
// himself) is refused when another browser posts it.

// sessionBinding is the binding of forms rendered for a signed-in browser.
func sessionBinding(sess *session) string { return "session:" + sess.id }

// formBinding returns the binding of a form posted with r, or "" when r carries
// neither a live session nor a browser cookie.
func (s *Server) formBinding(r *http.Request) string {
	if sess := s.session(r); sess != nil {
		return sessionBinding(sess)
	}
	if c, err := r.Cookie(browserCookie); err == nil && c.Value != "" {
		return "browser:" + c.Value
	}
	return ""
}

// bindForm returns the binding of a form rendered in answer to r, and gives the
// browser a browser cookie first when it has neither cookie.
func (s *Server) bindForm(w http.ResponseWriter, r *http.Request) string {
	if b := s.formBinding(r); b != "" {
		return b
	}
	id := randomString(16)
	s.setCookie(w, browserCookie, id, 0)
	return "browser:" + id
}

// sameBinding reports whether a form bound to want was posted by a browser
// whose formBinding is got.
func sameBinding(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
