package pixie_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/pixieauth/pixie"
)

// oldToken is a token due for a refresh.
func oldToken() *pixie.Token {
	return &pixie.Token{
		AccessToken:  pixie.NewSecret("AT-old-secret"),
		TokenType:    "Bearer",
		RefreshToken: pixie.NewSecret(testRefreshToken),
		IDToken:      pixie.NewSecret("old.id.token"),
		Scope:        []string{"read", "write", "admin"},
	}
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name        string
		opts        []pixie.Option
		body        string
		wantScope   string // the scope parameter sent; "" for none
		wantRefresh string
		wantIDToken string
		wantGranted []string
	}{
		{
			name:        "refresh token kept when omitted",
			body:        `{"access_token":"AT-new","token_type":"Bearer","expires_in":60}`,
			wantRefresh: testRefreshToken, wantIDToken: "old.id.token",
			wantGranted: []string{"read", "write", "admin"},
		},
		{
			name:        "rotated refresh token taken",
			body:        `{"access_token":"AT-new","token_type":"Bearer","refresh_token":"RT-rotated","id_token":"new.id.token","scope":"read write admin"}`,
			wantRefresh: "RT-rotated", wantIDToken: "new.id.token",
			wantGranted: []string{"read", "write", "admin"},
		},
		{
			name:        "scope narrowed",
			opts:        []pixie.Option{pixie.Scopes("read")},
			body:        `{"access_token":"AT-new","token_type":"Bearer"}`,
			wantScope:   "read",
			wantRefresh: testRefreshToken, wantIDToken: "old.id.token",
			wantGranted: []string{"read"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { replyJSON(w, 200, tt.body) })
			c := testConfig(srv)
			c.Scopes = []string{"config-default"} // never sent on a refresh
			tok, err := c.Refresh(context.Background(), oldToken(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			req := srv.only(t, "/token")
			checkForm(t, req.Form, map[string]string{"grant_type": "refresh_token", "refresh_token": testRefreshToken})
			if tt.wantScope == "" {
				checkAbsent(t, req.Form, "scope")
			} else {
				checkForm(t, req.Form, map[string]string{"scope": tt.wantScope})
			}
			wantToken(t, tok, nil, "AT-new", "Bearer", tt.wantGranted)
			if got := tok.RefreshToken.Reveal(); got != tt.wantRefresh {
				t.Errorf("RefreshToken = %q, want %q", got, tt.wantRefresh)
			}
			if got := tok.IDToken.Reveal(); got != tt.wantIDToken {
				t.Errorf("IDToken = %q, want %q", got, tt.wantIDToken)
			}
		})
	}
}

func TestRefreshErrors(t *testing.T) {
	t.Run("invalid_grant", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"refresh token revoked"}`)
		})
		_, err := testConfig(srv).Refresh(context.Background(), oldToken())
		if !errors.Is(err, pixie.ErrInvalidGrant) || !pixie.LoginRequired(err) || pixie.Temporary(err) {
			t.Errorf("err = %v: want invalid_grant, LoginRequired and not Temporary", err)
		}
		checkNoSecrets(t, err, "AT-old-secret")
	})
	t.Run("not retried on 500", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			reply(w, http.StatusInternalServerError, "text/plain", "internal error")
		})
		_, err := testConfig(srv).Refresh(context.Background(), oldToken())
		if !pixie.Temporary(err) || pixie.LoginRequired(err) {
			t.Errorf("err = %v: want Temporary and not LoginRequired", err)
		}
		if got, want := len(srv.requests("/token")), 1; got != want {
			t.Errorf("server received %d requests, want %d", got, want)
		}
		checkNoSecrets(t, err, "AT-old-secret")
	})
	for name, tok := range map[string]*pixie.Token{
		"no token":         nil,
		"no refresh token": {AccessToken: pixie.NewSecret("AT-old-secret")},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newAuthServer(t, replyToken)
			_, err := testConfig(srv).Refresh(context.Background(), tok)
			if !errors.Is(err, pixie.ErrNoToken) || !pixie.LoginRequired(err) {
				t.Errorf("err = %v, want ErrNoToken with LoginRequired", err)
			}
			if got := len(srv.requests("/token")); got != 0 {
				t.Errorf("server received %d requests, want 0", got)
			}
		})
	}
}
