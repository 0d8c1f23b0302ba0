package devserver_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestMetrics(t *testing.T) {
	srv := devservertest.NewServer(t)
	tok := codeTokens(t, srv, srv.Confidential, nil)
	for range 3 {
		tok = post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "refresh_token", "refresh_token", tok.str("refresh_token")))
	}
	wrong := srv.Post
	wrong.Secret = secret("wrong")
	post(t, srv, "/token", &wrong, formOf("grant_type", "client_credentials"))

	for _, tt := range []struct {
		m    devserver.Match
		want int
	}{
		{devserver.Match{Endpoint: "token", GrantType: "refresh_token", ClientID: "confidential", Status: 200}, 3},
		{devserver.Match{Endpoint: "token", ClientID: "confidential"}, 4},
		{devserver.Match{Endpoint: "token", ClientID: "post", Status: 401}, 1},
		{devserver.Match{Endpoint: "authorize", ClientID: "confidential", Status: 302}, 1},
		{devserver.Match{Endpoint: "token", GrantType: "device_code"}, 0},
	} {
		if got := srv.Count(tt.m); got != tt.want {
			t.Errorf("Count(%+v) = %d, want %d", tt.m, got, tt.want)
		}
	}

	r := get(t, srv, "/metrics")
	if got, want := r.header.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	for _, line := range []string{
		"# TYPE pixie_devserver_requests_total counter",
		`pixie_devserver_requests_total{endpoint="token",grant_type="refresh_token",client_id="confidential",status="200"} 3`,
		`pixie_devserver_requests_total{endpoint="token",grant_type="client_credentials",client_id="post",status="401"} 1`,
	} {
		if !strings.Contains(r.raw, line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, r.raw)
		}
	}
}

// TestMetricsLabelsAreBounded checks that client IDs and grant types nobody
// registered or supports do not become labels: each would add a counter, so a
// stream of made-up values would grow the server's memory and /metrics forever.
func TestMetricsLabelsAreBounded(t *testing.T) {
	srv := devservertest.NewServer(t)
	for i := range 5 {
		nobody := devserver.Client{ID: "nobody-" + strconv.Itoa(i), AuthMethod: "none"}
		wantError(t, post(t, srv, "/token", &nobody, formOf("grant_type", "client_credentials")), http.StatusUnauthorized, "invalid_client")
		wantError(t, post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "made-up-"+strconv.Itoa(i))),
			http.StatusBadRequest, "unsupported_grant_type")
		if got := get(t, srv, "/authorize?client_id=nobody-"+strconv.Itoa(i)); got.status != http.StatusBadRequest {
			t.Fatalf("authorization request of an unknown client: HTTP %d, want 400", got.status)
		}
	}
	r := get(t, srv, "/metrics")
	if strings.Contains(r.raw, "nobody") || strings.Contains(r.raw, "made-up") {
		t.Errorf("/metrics has labels of unknown clients or grant types:\n%s", r.raw)
	}
	for _, tt := range []struct {
		m    devserver.Match
		want int
	}{
		{devserver.Match{Endpoint: "token", Status: 401}, 5},
		{devserver.Match{Endpoint: "token", ClientID: "confidential", Status: 400}, 5},
		{devserver.Match{Endpoint: "authorize", Status: 400}, 5},
	} {
		if got := srv.Count(tt.m); got != tt.want {
			t.Errorf("Count(%+v) = %d, want %d", tt.m, got, tt.want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
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

func TestRequestLogHasNoSecrets(t *testing.T) {
	var buf lockedBuffer
	srv := devservertest.NewServer(t, func(o *devserver.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	})
	code, verifier := authorize(t, srv, srv.Confidential, url.Values{"scope": {"openid"}})
	tok := post(t, srv, "/token", &srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}})
	wantOK(t, tok, http.StatusOK)
	post(t, srv, "/token", &srv.Post, formOf("grant_type", "client_credentials"))
	srv.HTTP.Close() // waits for the handlers, and their log records, to finish

	log := buf.String()
	for name, secret := range map[string]string{"code": code, "verifier": verifier, "access token": tok.str("access_token"),
		"refresh token": tok.str("refresh_token"), "client secret": "confidential-secret", "post secret": "post-secret"} {
		if strings.Contains(log, secret) {
			t.Errorf("the request log contains the %s", name)
		}
	}
	if got, want := strings.Count(log, "\n"), 3; got != want {
		t.Errorf("%d log records for 3 requests:\n%s", got, log)
	}
	if !strings.Contains(log, `"endpoint":"token"`) || !strings.Contains(log, `"grant_type":"authorization_code"`) || !strings.Contains(log, `"status":200`) {
		t.Errorf("the log lacks endpoint, grant type or status:\n%s", log)
	}
}
