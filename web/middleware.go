package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/pixieauth/pixie"
)

// User is the signed-in user of a request, from [UserFrom].
type User struct {
	// Provider is the name of the provider the user signed in with.
	Provider string
	// Subject is the user's identifier at the provider: the ID token's sub, or
	// the user API's sub or id. Provider and Subject together identify a user.
	Subject string
	// Name and Email are the user's name (name, login or preferred_username)
	// and email address, "" when the provider did not tell.
	Name, Email string
	// Claims are all the claims the provider gave: the ID token's, completed by
	// userinfo, or the user API's answer. Treat them as read-only.
	Claims map[string]any

	w    *Web
	p    *provider
	key  string
	csrf string
	tok  *pixie.Token
}

type userKey struct{}

// UserFrom returns the signed-in user of a request that went through
// [Web.Require] or [Web.Optional], or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// CSRFToken returns the token that the request's session requires in the
// csrf_token form field (or the X-CSRF-Token header) of its state-changing
// requests, Logout's included; "" when no one is signed in. It is random,
// bound to the session, and not the session id.
func CSRFToken(r *http.Request) string {
	if u := UserFrom(r.Context()); u != nil {
		return u.csrf
	}
	return ""
}

var csrfFieldTemplate = template.Must(template.New("csrf").Parse(`<input type="hidden" name="csrf_token" value="{{.}}">`))

// CSRFField returns a hidden csrf_token form field holding [CSRFToken], for
// html/template: {{.CSRFField}} inside each form that POSTs.
func CSRFField(r *http.Request) template.HTML {
	var b strings.Builder
	_ = csrfFieldTemplate.Execute(&b, CSRFToken(r))
	return template.HTML(b.String()) // escaped by the template
}

// Require returns middleware that lets only signed-in users through to next,
// which finds them with [UserFrom]. A signed-out GET or HEAD from a browser is
// redirected to Login, with return_to set to the page asked for; any other
// request, and one whose Accept header asks for JSON and not HTML, is answered
// 401 with a JSON body naming the login URL.
//
// A request with an unsafe method (POST, PUT, PATCH, DELETE, ...) must also
// carry the session's [CSRFToken] and come from the app's own origin (checked
// with Sec-Fetch-Site and Origin, as http.CrossOriginProtection does), or it
// is answered 403.
func (w *Web) Require(next http.Handler) http.Handler {
	return w.middleware(next, true)
}

// Optional returns middleware that makes the signed-in user, if any, known to
// next through [UserFrom], and lets every request through. Unsafe requests of
// a signed-in user are checked for CSRF as [Web.Require] checks them.
func (w *Web) Optional(next http.Handler) http.Handler {
	return w.middleware(next, false)
}

func (w *Web) middleware(next http.Handler, required bool) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, err := w.authenticate(rw, r)
		if err != nil {
			w.storeFailed(rw, r, err)
			return
		}
		if u == nil {
			if required {
				w.signedOut(rw, r)
				return
			}
			next.ServeHTTP(rw, r)
			return
		}
		if !safeMethod(r.Method) {
			if err := w.checkCSRF(r, u); err != nil {
				w.fail(rw, r, http.StatusForbidden, err)
				return
			}
		}
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// errCSRF is the answer to a state-changing request without the session's
// CSRF token, or from another site.
var errCSRF = errors.New("web: this request did not come from this site's own page (missing or wrong CSRF token, or a cross-site origin); reload the page and try again")

// checkCSRF checks that an unsafe request comes from the app's own pages: the
// browser says the request is same-origin (Sec-Fetch-Site, or Origin), and it
// carries the session's CSRF token.
func (w *Web) checkCSRF(r *http.Request, u *User) error {
	if err := w.crossOrigin.Check(r); err != nil {
		return errCSRF
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(u.csrf)) != 1 {
		return errCSRF
	}
	return nil
}

// authenticate returns the user of the request's session cookie, or nil when
// there is none, it is not a session the store knows, or the session ended.
// An error means the store failed. A session's last-seen time is updated at
// most every touchEvery, so that most requests only read the store.
func (w *Web) authenticate(rw http.ResponseWriter, r *http.Request) (*User, error) {
	c, err := r.Cookie(w.sessionCookie)
	if err != nil {
		return nil, nil
	}
	if !validID(c.Value) {
		w.clearCookie(rw, w.sessionCookie)
		return nil, nil
	}
	key := storeKey(c.Value)
	ctx := r.Context()
	s, rec, version, err := w.loadSession(ctx, key)
	if errors.Is(err, errUnreadableSession) {
		// A record this version cannot read: the user signs in again.
		w.logger.Warn("web: unreadable session", "error", err)
		w.clearCookie(rw, w.sessionCookie)
		return nil, nil
	}
	if errors.Is(err, ErrNoSession) {
		w.clearCookie(rw, w.sessionCookie)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := w.now()
	p := w.providers[s.Provider]
	if s.Login != nil || p == nil || !now.Before(w.expiry(s)) {
		w.clearCookie(rw, w.sessionCookie)
		return nil, nil
	}
	if now.Sub(s.LastSeen) >= w.touchEvery {
		seen := *s // s may be shared through the cache: change a copy
		seen.LastSeen = now
		s = &seen
		// A conflict means another writer changed the session: it was seen.
		if _, err := w.save(ctx, key, s, rec.Subject, w.expiry(s), version); err != nil && !errors.Is(err, pixie.ErrConflict) {
			w.logger.Warn("web: cannot record a session's activity", "error", err)
		}
	}
	return &User{Provider: s.Provider, Subject: s.Subject, Name: s.Name, Email: s.Email, Claims: s.Claims,
		w: w, p: p, key: key, csrf: s.CSRF, tok: s.tok}, nil
}

// signedOut answers a request that needs a signed-in user.
func (w *Web) signedOut(rw http.ResponseWriter, r *http.Request) {
	login := w.LoginURL("", r.URL.RequestURI())
	rw.Header().Set("Cache-Control", "no-store")
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !wantsJSON(r) {
		http.Redirect(rw, r, login, http.StatusSeeOther)
		return
	}
	// RFC 9110 section 11.6.1: a 401 carries a challenge. Cookie sessions
	// have no registered scheme; this one names the realm and where to sign in.
	rw.Header().Set("WWW-Authenticate", `Cookie realm="`+w.origin+`", login="`+w.loginPath+`"`)
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": "login_required", "login": login})
}

// wantsJSON reports whether the request's Accept header asks for JSON and not
// for HTML.
func wantsJSON(r *http.Request) bool {
	a := strings.ToLower(r.Header.Get("Accept"))
	return strings.Contains(a, "json") && !strings.Contains(a, "text/html")
}
