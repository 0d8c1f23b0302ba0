package devserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// TestAccessTokens checks Options.AdminToken and Options.RegistrationToken: the
// admin API and dynamic client registration answer only requests that carry
// their own token as a bearer token, and refuse others with 401 and a Bearer
// challenge (RFC 6750 section 3; RFC 7591 section 3 for the initial access
// token).
func TestAccessTokens(t *testing.T) {
	srv := devservertest.NewServer(t, func(o *devserver.Options) {
		o.AdminToken = secret("admin-token")
		o.RegistrationToken = secret("initial-token")
	})
	send := func(t *testing.T, method, path, body, token string) *response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		return call(t, srv, req)
	}
	const registration = `{"redirect_uris":["http://127.0.0.1/cb"]}`
	for _, tt := range []struct {
		name, method, path, body, right, wrong string
	}{
		{"GET /admin/faults", http.MethodGet, "/admin/faults", "", "Bearer admin-token", "Bearer initial-token"},
		{"PUT /admin/faults", http.MethodPut, "/admin/faults", `{"latency":"1ms"}`, "Bearer admin-token", "Bearer admin-token2"},
		{"POST /admin/rotate-keys", http.MethodPost, "/admin/rotate-keys", "", "Bearer admin-token", "Bearer admin"},
		{"POST /register", http.MethodPost, "/register", registration, "Bearer initial-token", "Bearer admin-token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, refused := range []struct{ auth, challenge string }{
				{"", `Bearer realm="pixie devserver"`},
				{"Basic YWRtaW4tdG9rZW46", `Bearer realm="pixie devserver"`},
				{tt.wrong, `Bearer realm="pixie devserver", error="invalid_token"`},
			} {
				r := send(t, tt.method, tt.path, tt.body, refused.auth)
				wantError(t, r, http.StatusUnauthorized, "invalid_token")
				if got := r.header.Get("WWW-Authenticate"); got != refused.challenge {
					t.Errorf("Authorization %q: WWW-Authenticate = %q, want %q", refused.auth, got, refused.challenge)
				}
			}
			if r := send(t, tt.method, tt.path, tt.body, tt.right); r.status/100 != 2 {
				t.Errorf("with the token: HTTP %d %s", r.status, r.raw)
			}
		})
	}
	t.Run("without tokens configured, none is needed", func(t *testing.T) {
		open := devservertest.NewServer(t)
		if r := get(t, open, "/admin/faults"); r.status != http.StatusOK {
			t.Errorf("GET /admin/faults: HTTP %d %s", r.status, r.raw)
		}
	})
}
