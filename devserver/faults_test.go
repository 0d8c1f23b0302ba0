package devserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestFaults(t *testing.T) {
	srv := devservertest.NewServer(t)
	cc := formOf("grant_type", "client_credentials")
	set := func(t *testing.T, f devserver.Faults) {
		t.Helper()
		if err := srv.SetFaults(f); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("rate limit", func(t *testing.T) {
		set(t, devserver.Faults{RateLimit: 2, RetryAfter: 3 * time.Second})
		for range 2 {
			r := post(t, srv, "/token", &srv.Confidential, cc)
			if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "3" {
				t.Fatalf("got HTTP %d Retry-After %q, want 429 with Retry-After 3", r.status, r.header.Get("Retry-After"))
			}
		}
		wantOK(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusOK)
		if got := srv.Faults().RateLimit; got != 0 {
			t.Errorf("RateLimit counter = %d after use, want 0", got)
		}
	})
	t.Run("failure rate", func(t *testing.T) {
		set(t, devserver.Faults{FailureRate: 1})
		r := post(t, srv, "/token", &srv.Confidential, cc)
		wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
		set(t, devserver.Faults{FailureRate: 1, FailureStatus: 500})
		wantError(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusInternalServerError, "server_error")
		// Only the selected endpoints fail.
		wantOK(t, get(t, srv, "/jwks"), http.StatusOK)
		set(t, devserver.Faults{FailureRate: 1, Endpoints: []string{"jwks"}})
		wantOK(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusOK)
		if got := get(t, srv, "/jwks"); got.status != http.StatusServiceUnavailable {
			t.Errorf("jwks status = %d, want 503", got.status)
		}
	})
	t.Run("access token TTL", func(t *testing.T) {
		set(t, devserver.Faults{AccessTokenTTL: 5 * time.Second})
		r := post(t, srv, "/token", &srv.Confidential, cc)
		if got, want := r.body["expires_in"], float64(5); got != want {
			t.Errorf("expires_in = %v, want %v", got, want)
		}
	})
	t.Run("clock offset", func(t *testing.T) {
		set(t, devserver.Faults{})
		r := post(t, srv, "/token", &srv.Confidential, cc)
		set(t, devserver.Faults{ClockOffset: 2 * time.Hour})
		if active(t, srv, r.str("access_token")) {
			t.Errorf("the token is active two hours later")
		}
	})
	t.Run("fail refresh", func(t *testing.T) {
		set(t, devserver.Faults{})
		tok := codeTokens(t, srv, srv.Confidential, nil)
		set(t, devserver.Faults{FailRefresh: 1})
		rf := formOf("grant_type", "refresh_token", "refresh_token", tok.str("refresh_token"))
		wantError(t, post(t, srv, "/token", &srv.Confidential, rf), http.StatusBadRequest, "invalid_grant")
		wantOK(t, post(t, srv, "/token", &srv.Confidential, rf), http.StatusOK)
	})
	t.Run("drop after refresh", func(t *testing.T) {
		set(t, devserver.Faults{})
		tok := codeTokens(t, srv, srv.Confidential, nil)
		set(t, devserver.Faults{DropAfterRefresh: 1})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token",
			strings.NewReader(formOf("grant_type", "refresh_token", "refresh_token", tok.str("refresh_token")).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("confidential", "confidential-secret")
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got HTTP %d, want a dropped connection", resp.StatusCode)
		}
		// The server committed the refresh: the old refresh token is rotated out,
		// so the client's retry with it is a reuse that revokes the family.
		r := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "refresh_token", "refresh_token", tok.str("refresh_token")))
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
		if got := srv.Count(devserver.Match{Endpoint: "token", GrantType: "refresh_token", Status: -1}); got != 1 {
			t.Errorf("dropped refreshes counted = %d, want 1", got)
		}
	})
	t.Run("latency", func(t *testing.T) {
		set(t, devserver.Faults{Latency: 50 * time.Millisecond})
		start := time.Now()
		wantOK(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusOK)
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("request took %v, want at least the injected 50ms", d)
		}
	})
	t.Run("invalid faults", func(t *testing.T) {
		for _, f := range []devserver.Faults{{FailureRate: 2}, {FailureStatus: 418}, {RateLimit: -1}, {Latency: -time.Second}, {Endpoints: []string{"tokn"}}} {
			if err := srv.SetFaults(f); err == nil {
				t.Errorf("SetFaults(%+v) succeeded", f)
			}
		}
	})
}

func TestAdminFaultsAPI(t *testing.T) {
	srv := devservertest.NewServer(t)
	put := func(t *testing.T, body string) *response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/admin/faults", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return call(t, srv, req)
	}
	r := put(t, `{"rate_limit":1,"retry_after":"2s","clock_offset":"-1h","endpoints":["token","userinfo"]}`)
	wantOK(t, r, http.StatusOK)
	f := srv.Faults()
	if f.RateLimit != 1 || f.RetryAfter != 2*time.Second || f.ClockOffset != -time.Hour || len(f.Endpoints) != 2 {
		t.Errorf("faults after PUT = %+v", f)
	}
	got := get(t, srv, "/admin/faults")
	wantOK(t, got, http.StatusOK)
	if got.str("retry_after") != "2s" || got.str("clock_offset") != "-1h0m0s" {
		t.Errorf("GET /admin/faults = %s", got.raw)
	}
	var round devserver.Faults
	if err := json.Unmarshal([]byte(got.raw), &round); err != nil || round.RetryAfter != f.RetryAfter {
		t.Errorf("faults do not round-trip through JSON: %+v, %v", round, err)
	}
	for _, body := range []string{`{"latency":"soon"}`, `{"failure_rate":3}`, `{"unknown":1}`, `not json`} {
		wantError(t, put(t, body), http.StatusBadRequest, "invalid_request")
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(devserver.Faults{})
	wantOK(t, put(t, buf.String()), http.StatusOK)
	if got := srv.Faults(); got.RateLimit != 0 || got.ClockOffset != 0 {
		t.Errorf("PUT of empty faults left %+v", got)
	}
}
