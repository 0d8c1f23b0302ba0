package devserver

import (
	"net/http"
	"strings"
	"time"
)

// sessionCookie names the browser session cookie set by a successful login.
const sessionCookie = "pixie_devserver_session"

// sessionTTL bounds a browser session.
const sessionTTL = 12 * time.Hour

// session is a logged-in browser.
type session struct {
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

// startSession logs the browser in as u. Behind an https issuer the cookie is
// Secure, so it never travels over plain http.
func (s *Server) startSession(w http.ResponseWriter, u *User, now time.Time) {
	id := randomString(24)
	s.mu.Lock()
	for k, old := range s.sessions {
		if now.Sub(old.authTime) >= sessionTTL {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = &session{user: u, authTime: now}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL / time.Second), Secure: strings.HasPrefix(s.issuer, "https://")})
}
