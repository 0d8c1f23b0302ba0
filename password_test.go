package pixie_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
)

func TestLegacyPasswordGrant(t *testing.T) {
	const password = "hunter2-P@ssw0rd"
	srv := newAuthServer(t, replyToken)
	var logs logRecords
	c := testConfig(srv)
	c.Logger = logs.Logger()
	tok, err := c.LegacyPasswordGrant(context.Background(), "ada", pixie.NewSecret(password), pixie.Scopes("read"))
	if err != nil {
		t.Fatal(err)
	}
	checkForm(t, srv.only(t, "/token").Form, map[string]string{
		"grant_type": "password", "username": "ada", "password": password, "scope": "read",
	})
	wantToken(t, tok, nil, testAccessToken, "Bearer", []string{"read", "write"})
	lines := logs.Lines()
	warned := slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "WARN") })
	if !warned {
		t.Errorf("log = %q, want a warning", lines)
	}
	for _, l := range lines {
		for _, secret := range []string{password, testClientSecret, testAccessToken, testRefreshToken} {
			if strings.Contains(l, secret) {
				t.Errorf("log line %q reveals a secret", l)
			}
		}
	}

	t.Run("missing credentials", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		c := testConfig(srv)
		c.Logger = logs.Logger()
		for _, tc := range []struct{ user, password string }{{"", password}, {"ada", ""}} {
			_, err := c.LegacyPasswordGrant(context.Background(), tc.user, pixie.NewSecret(tc.password))
			checkNoSecrets(t, err, password)
		}
		if got := len(srv.requests("/token")); got != 0 {
			t.Errorf("server received %d requests, want 0", got)
		}
	})
	t.Run("invalid_grant", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"bad username or password"}`)
		})
		c := testConfig(srv)
		c.Logger = logs.Logger()
		_, err := c.LegacyPasswordGrant(context.Background(), "ada", pixie.NewSecret(password))
		if !errors.Is(err, pixie.ErrInvalidGrant) {
			t.Errorf("err = %v, want invalid_grant", err)
		}
		checkNoSecrets(t, err, password)
	})
}
