package web_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/web"
)

// lockedBuffer takes the writes of several loggers at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogsHoldNoSecrets signs in, calls the API, crosses the access token's
// expiry, meets refused requests (a replayed callback, an expired code, a
// tampered cookie) and signs out, with debug logging on the app and the devserver; then
// it searches the logs for every code, token and session id that went by.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(o *devserver.Options) { o.Logger = logger })
	a := e.newApp(nil, web.WithProvider(e.devProvider()), web.Logger(logger))
	b := newBrowser(t)

	cb := b.callbackURL(a, "")
	secrets := []string{cb.Query().Get("code"), cb.Query().Get("state")}
	if r := b.get(cb.String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", r.StatusCode, r.body)
	}
	b.get(cb.String()) // the code again: refused
	id := b.cookie(a, sessionCookie)

	// A sign-in whose code expires before it comes back: the exchange fails
	// and is logged.
	late := newBrowser(t)
	lateCB := late.callbackURL(a, "")
	secrets = append(secrets, lateCB.Query().Get("code"))
	e.clock.Advance(2 * time.Minute) // past the code's minute, within the sign-in's ten
	if r := late.get(lateCB.String()); r.StatusCode == http.StatusSeeOther {
		t.Fatal("a sign-in with an expired code succeeded")
	}
	secrets = append(secrets, id)

	// tokens returns the user's token as the app holds it.
	tokens := func() {
		t.Helper()
		var tok *pixie.Token
		h := a.web.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var err error
			if tok, err = web.UserFrom(r.Context()).TokenSource().Token(r.Context()); err != nil {
				t.Error(err)
			}
		}))
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, a.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		h.ServeHTTP(httptest.NewRecorder(), req)
		if tok == nil {
			t.Fatal("no token for the signed-in user")
		}
		for _, s := range []pixie.Secret{tok.AccessToken, tok.RefreshToken, tok.IDToken} {
			if !s.IsZero() {
				secrets = append(secrets, s.Reveal())
			}
		}
	}
	tokens()
	if r := b.get(a.URL + "/api"); r.StatusCode != http.StatusOK {
		t.Fatalf("API call: %d %s", r.StatusCode, r.body)
	}
	e.clock.Advance(2 * time.Hour)
	if r := b.get(a.URL + "/api"); r.StatusCode != http.StatusOK {
		t.Fatalf("API call after expiry: %d %s", r.StatusCode, r.body)
	}
	tokens()

	refusedSession(t, a, id[:len(id)-1]+"x")
	csrf := b.csrf(a)
	secrets = append(secrets, csrf)
	if r := b.do("POST", a.URL+"/logout", url.Values{"csrf_token": {csrf}}, "Origin: "+a.URL, "Sec-Fetch-Site: same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}

	out := logs.String()
	if !strings.Contains(out, `"level":"WARN"`) {
		t.Fatalf("no warning was logged, so the failures were not exercised:\n%s", out)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the logs hold a secret (%d bytes, starting %.6q)", len(s), s)
		}
	}
}
