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

func TestIntrospect(t *testing.T) {
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
		replyJSON(w, 200, `{"active":true,"scope":"read write","client_id":"cli","username":"ada",
			"token_type":"Bearer","exp":1767225600,"iat":1767222000,"nbf":1767222000.5,"sub":"u-1",
			"aud":["https://api.example.com","https://files.example.com"],"iss":"https://auth.example.com",
			"jti":"j-1","cnf":{"jkt":"thumb"}}`)
	})
	in, err := testConfig(srv).Introspect(context.Background(), pixie.NewSecret(testAccessToken), pixie.HintAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	checkForm(t, srv.only(t, "/introspect").Form, map[string]string{"token": testAccessToken, "token_type_hint": "access_token"})
	if id, secret := basicCredentials(t, srv.only(t, "/introspect").Header); id != testClientID || secret != testClientSecret {
		t.Errorf("Basic credentials = %q, %q", id, secret)
	}
	want := pixie.Introspection{
		Active: true, Scope: []string{"read", "write"}, ClientID: "cli", Username: "ada", TokenType: "Bearer",
		Expiry: time.Unix(1767225600, 0), IssuedAt: time.Unix(1767222000, 0), NotBefore: time.Unix(1767222000, 5e8),
		Subject: "u-1", Audience: []string{"https://api.example.com", "https://files.example.com"},
		Issuer: "https://auth.example.com", JWTID: "j-1",
	}
	if in.Active != want.Active || !slices.Equal(in.Scope, want.Scope) || in.ClientID != want.ClientID ||
		in.Username != want.Username || in.TokenType != want.TokenType || !in.Expiry.Equal(want.Expiry) ||
		!in.IssuedAt.Equal(want.IssuedAt) || !in.NotBefore.Equal(want.NotBefore) || in.Subject != want.Subject ||
		!slices.Equal(in.Audience, want.Audience) || in.Issuer != want.Issuer || in.JWTID != want.JWTID {
		t.Errorf("Introspect() = %+v\nwant %+v", *in, want)
	}
	if cnf, ok := in.Extra["cnf"].(map[string]any); !ok || cnf["jkt"] != "thumb" || len(in.Extra) != 1 {
		t.Errorf("Extra = %v, want only cnf", in.Extra)
	}
}

func TestIntrospectResponses(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, in *pixie.Introspection)
	}{
		{name: "aud as a string", body: `{"active":true,"aud":"https://api.example.com"}`,
			check: func(t *testing.T, in *pixie.Introspection) {
				if got, want := in.Audience, []string{"https://api.example.com"}; !slices.Equal(got, want) {
					t.Errorf("Audience = %q, want %q", got, want)
				}
			}},
		{name: "inactive", body: `{"active":false}`,
			check: func(t *testing.T, in *pixie.Introspection) {
				if in.Active || in.Subject != "" || !in.Expiry.IsZero() || len(in.Audience) != 0 {
					t.Errorf("Introspect() = %+v, want an inactive token and nothing else", *in)
				}
			}},
		{name: "missing active", body: `{"sub":"u-1"}`, wantErr: "active"},
		{name: "null active", body: `{"active":null}`, wantErr: "active"},
		{name: "active as a string", body: `{"active":"true"}`, wantErr: "active"},
		{name: "exp as a string", body: `{"active":true,"exp":"1767225600"}`, wantErr: "exp"},
		{name: "exp out of range", body: `{"active":true,"exp":1e300}`, wantErr: "exp"},
		{name: "aud array of numbers", body: `{"active":true,"aud":[1,2]}`, wantErr: "aud"},
		{name: "scope as an array", body: `{"active":true,"scope":["read"]}`, wantErr: "scope"},
		{name: "not JSON", body: `active=true`, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { replyJSON(w, 200, tt.body) })
			in, err := testConfig(srv).Introspect(context.Background(), pixie.NewSecret(testAccessToken), "")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, in)
				return
			}
			e := asError(t, err)
			if e.Op != "introspection" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want an introspection error naming %q", err, tt.wantErr)
			}
			checkNoSecrets(t, err)
		})
	}
	t.Run("error response", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusUnauthorized, `{"error":"invalid_client"}`)
		})
		_, err := testConfig(srv).Introspect(context.Background(), pixie.NewSecret(testAccessToken), "")
		if !errors.Is(err, pixie.ErrInvalidClient) {
			t.Errorf("err = %v, want invalid_client", err)
		}
		checkNoSecrets(t, err)
	})
	t.Run("empty token", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		if _, err := testConfig(srv).Introspect(context.Background(), pixie.Secret{}, ""); err == nil {
			t.Error("err = nil, want one")
		}
		if got := len(srv.requests("/introspect")); got != 0 {
			t.Errorf("server received %d requests, want 0", got)
		}
	})
}
