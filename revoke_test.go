package pixie_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

func TestRevoke(t *testing.T) {
	for _, hint := range []string{"", pixie.HintAccessToken, pixie.HintRefreshToken} {
		t.Run("hint "+hint, func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { w.WriteHeader(http.StatusOK) })
			if err := testConfig(srv).Revoke(context.Background(), pixie.NewSecret(testAccessToken), hint); err != nil {
				t.Fatal(err)
			}
			req := srv.only(t, "/revoke")
			checkForm(t, req.Form, map[string]string{"token": testAccessToken})
			if hint == "" {
				checkAbsent(t, req.Form, "token_type_hint")
			} else {
				checkForm(t, req.Form, map[string]string{"token_type_hint": hint})
			}
			if id, secret := basicCredentials(t, req.Header); id != testClientID || secret != testClientSecret {
				t.Errorf("Basic credentials = %q, %q", id, secret)
			}
		})
	}
}

func TestRevokeErrors(t *testing.T) {
	t.Run("error body", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusBadRequest, `{"error":"unsupported_token_type","error_description":"only refresh tokens"}`)
		})
		err := testConfig(srv).Revoke(context.Background(), pixie.NewSecret(testAccessToken), pixie.HintAccessToken)
		e := asError(t, err)
		if !errors.Is(err, pixie.ErrUnsupportedTokenType) || e.Op != "revocation" || e.StatusCode != 400 {
			t.Errorf("error = %+v, want unsupported_token_type from revocation with HTTP 400", *e)
		}
		checkNoSecrets(t, err)
	})
	t.Run("empty token", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		if err := testConfig(srv).Revoke(context.Background(), pixie.Secret{}, ""); err == nil {
			t.Error("err = nil, want one")
		}
		if got := len(srv.requests("/revoke")); got != 0 {
			t.Errorf("server received %d requests, want 0", got)
		}
	})
	t.Run("no endpoint", func(t *testing.T) {
		c := testConfig(newAuthServer(t, replyToken))
		c.Endpoint.RevocationURL = ""
		err := c.Revoke(context.Background(), pixie.NewSecret(testAccessToken), "")
		if err == nil || !strings.Contains(err.Error(), "revocation endpoint") {
			t.Errorf("err = %v, want one naming the revocation endpoint", err)
		}
		checkNoSecrets(t, err)
	})
}

// TestRevokeRetryAfter checks that a 503 is retried after the delay its
// Retry-After asks for (RFC 7009 section 2.2.1). The date form lets the test
// ask for a few milliseconds.
func TestRevokeRetryAfter(t *testing.T) {
	retryAt := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	srv := newAuthServer(t, func(w http.ResponseWriter, r seenRequest) {
		if r.N == 1 {
			w.Header().Set("Retry-After", retryAt.Format(http.TimeFormat))
			reply(w, http.StatusServiceUnavailable, "text/plain", "down for maintenance")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	var logs logRecords
	c := testConfig(srv)
	c.Now = func() time.Time { return retryAt.Add(-20 * time.Millisecond) }
	c.Logger = logs.Logger()
	if err := c.Revoke(context.Background(), pixie.NewSecret(testAccessToken), ""); err != nil {
		t.Fatal(err)
	}
	if got, want := len(srv.requests("/revoke")), 2; got != want {
		t.Errorf("server received %d requests, want %d", got, want)
	}
	if !slices.ContainsFunc(logs.Lines(), func(l string) bool { return strings.Contains(l, "wait=20ms") }) {
		t.Errorf("log = %q, want a retry after 20ms", logs.Lines())
	}
	for _, l := range logs.Lines() {
		if strings.Contains(l, testAccessToken) || strings.Contains(l, testClientSecret) {
			t.Errorf("log line %q reveals a secret", l)
		}
	}
}

func TestRevokeToken(t *testing.T) {
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { w.WriteHeader(http.StatusOK) })
	c := testConfig(srv)
	tok := &pixie.Token{AccessToken: pixie.NewSecret(testAccessToken), RefreshToken: pixie.NewSecret(testRefreshToken)}
	if err := c.RevokeToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requests("/revoke")
	if got, want := len(reqs), 2; got != want {
		t.Fatalf("server received %d requests, want %d", got, want)
	}
	checkForm(t, reqs[0].Form, map[string]string{"token": testRefreshToken, "token_type_hint": "refresh_token"})
	checkForm(t, reqs[1].Form, map[string]string{"token": testAccessToken, "token_type_hint": "access_token"})

	t.Run("access token only", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { w.WriteHeader(http.StatusOK) })
		if err := testConfig(srv).RevokeToken(context.Background(), &pixie.Token{AccessToken: pixie.NewSecret(testAccessToken)}); err != nil {
			t.Fatal(err)
		}
		checkForm(t, srv.only(t, "/revoke").Form, map[string]string{"token": testAccessToken})
	})
	t.Run("both tried after a failure", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, r seenRequest) {
			if r.N == 1 {
				replyJSON(w, http.StatusBadRequest, `{"error":"invalid_request"}`)
				return
			}
			w.WriteHeader(http.StatusOK)
		})
		err := testConfig(srv).RevokeToken(context.Background(), tok)
		if !errors.Is(err, pixie.ErrInvalidRequest) {
			t.Errorf("err = %v, want the first failure", err)
		}
		checkNoSecrets(t, err)
		if got, want := len(srv.requests("/revoke")), 2; got != want {
			t.Errorf("server received %d requests, want %d", got, want)
		}
	})
	t.Run("nil token", func(t *testing.T) {
		if err := c.RevokeToken(context.Background(), nil); err == nil {
			t.Error("err = nil, want one")
		}
	})
}
