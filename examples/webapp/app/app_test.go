package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/examples/webapp/app"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

// TestApp walks the example through its pages with net/http, the devserver's
// login and consent pages included: sign in, see the name, call the API, sign
// out.
func TestApp(t *testing.T) {
	dev := devservertest.NewServer(t, devservertest.WithAutoApprove(false))
	k, _ := seal.GenerateKey()
	store, err := sqlitesession.Open(filepath.Join(t.TempDir(), "sessions.db"), sqlitesession.WithKeys(k.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	h, err := app.New(context.Background(), app.Config{BaseURL: base, Issuer: dev.URL, ClientID: dev.Confidential.ID,
		ClientSecret: dev.Confidential.Secret, Store: store, HTTPClient: dev.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if _, body := get(base + "/"); !strings.Contains(body, `id="signin"`) {
		t.Fatalf("home page without a Sign in link: %s", body)
	}
	resp, _ := get(base + "/login")
	cb := dev.Authorize(t, resp.Header.Get("Location")) // fills the login and consent forms
	resp, _ = get(cb.String())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	_, body := get(base + "/")
	if !strings.Contains(body, `<strong id="user-name">Alice Liddell</strong>`) || !strings.Contains(body, `id="call-api"`) {
		t.Fatalf("home page after sign-in: %s", body)
	}
	resp, body = get(base + "/api/me")
	var answer struct {
		Status int
		Body   struct{ Sub, Name string }
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || answer.Status != 200 || answer.Body.Sub != "alice" {
		t.Errorf("API answer: %d %s", resp.StatusCode, body)
	}
	_, home := get(base + "/")
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(home)
	if m == nil {
		t.Fatalf("no CSRF field in the sign-out form: %s", home)
	}
	req, _ := http.NewRequest("POST", base+"/logout", strings.NewReader(url.Values{"csrf_token": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	if resp, err = c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	if _, body := get(base + "/"); !strings.Contains(body, `id="signin"`) {
		t.Errorf("home page after sign-out: %s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}
