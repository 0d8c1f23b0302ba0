package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

// save encodes s and saves it under key with the given subject index and
// expiry, if the stored version is still version. A saved signed-in session
// is cached, so s must not be changed afterwards.
func (w *Web) save(ctx context.Context, key string, s *session, subject string, expires time.Time, version uint64) (uint64, error) {
	data, err := s.encode()
	if err != nil {
		return 0, err
	}
	saved, err := w.store.Save(ctx, key, &Record{Subject: subject, Expires: expires, Data: data}, version)
	if err != nil {
		return 0, err
	}
	w.cacheSession(key, saved, data, s, w.now())
	return saved, nil
}

// setCookie sets a cookie of the Web: host-only (no Domain), Path=/, HttpOnly,
// SameSite=Lax, and Secure when the app is served over https (RFC 6265bis
// sections 4.1.2 and 8.8).
func (w *Web) setCookie(rw http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(rw, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteLaxMode})
}

// clearCookie tells the browser to drop a cookie of the Web.
func (w *Web) clearCookie(rw http.ResponseWriter, name string) {
	http.SetCookie(rw, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteLaxMode})
}

// fail answers with the error page. Responses that refuse are never cached.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, status int, err error) {
	rw.Header().Set("Cache-Control", "no-store")
	w.errorPage(rw, r, status, err)
}

// storeFailed answers a request the session store could not serve.
func (w *Web) storeFailed(rw http.ResponseWriter, r *http.Request, err error) {
	w.logger.Error("web: session store", "error", err)
	w.fail(rw, r, http.StatusServiceUnavailable, errors.New("web: sessions are unavailable just now; try again shortly"))
}

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p id="error">{{.Message}}</p><p><a href="/">Home</a></p></body></html>
`))

// defaultErrorPage writes a short HTML page naming the status and the error.
func defaultErrorPage(rw http.ResponseWriter, _ *http.Request, status int, err error) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(status)
	_ = errorTemplate.Execute(rw, struct{ Title, Message string }{
		Title: fmt.Sprintf("%d %s", status, http.StatusText(status)), Message: err.Error()})
}
