package pixie_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/pixieauth/pixie"
)

func TestTokenExchange(t *testing.T) {
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
		replyJSON(w, 200, `{"access_token":"exchanged","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A","expires_in":60}`)
	})
	c := testConfig(srv)
	tok, err := c.TokenExchange(context.Background(), pixie.TokenExchangeRequest{
		SubjectToken:       pixie.NewSecret("subject-secret"),
		SubjectTokenType:   pixie.TokenTypeAccessToken,
		ActorToken:         pixie.NewSecret("actor-secret"),
		ActorTokenType:     pixie.TokenTypeIDToken,
		RequestedTokenType: pixie.TokenTypeJWT,
	}, pixie.Resource("https://backend.example.com/api"), pixie.Audience("backend"), pixie.Scopes("orders"))
	if err != nil {
		t.Fatal(err)
	}
	checkForm(t, srv.only(t, "/token").Form, map[string]string{
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token":        "subject-secret",
		"subject_token_type":   "urn:ietf:params:oauth:token-type:access_token",
		"actor_token":          "actor-secret",
		"actor_token_type":     "urn:ietf:params:oauth:token-type:id_token",
		"requested_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"resource":             "https://backend.example.com/api",
		"audience":             "backend",
		"scope":                "orders",
	})
	wantToken(t, tok, nil, "exchanged", "N_A", []string{"orders"})
	if got, want := tok.IssuedTokenType, pixie.TokenTypeJWT; got != want {
		t.Errorf("IssuedTokenType = %q, want %q", got, want)
	}

	t.Run("minimal", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		_, err := testConfig(srv).TokenExchange(context.Background(), pixie.TokenExchangeRequest{
			SubjectToken: pixie.NewSecret("subject-secret"), SubjectTokenType: pixie.TokenTypeJWT,
		})
		if err != nil {
			t.Fatal(err)
		}
		checkAbsent(t, srv.only(t, "/token").Form, "actor_token", "actor_token_type", "requested_token_type", "scope")
	})
	for name, req := range map[string]pixie.TokenExchangeRequest{
		"no subject token":      {SubjectTokenType: pixie.TokenTypeJWT},
		"no subject token type": {SubjectToken: pixie.NewSecret("subject-secret")},
		"actor without type": {SubjectToken: pixie.NewSecret("subject-secret"), SubjectTokenType: pixie.TokenTypeJWT,
			ActorToken: pixie.NewSecret("actor-secret")},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newAuthServer(t, replyToken)
			_, err := testConfig(srv).TokenExchange(context.Background(), req)
			if err == nil {
				t.Fatal("err = nil, want one")
			}
			checkNoSecrets(t, err, "subject-secret", "actor-secret")
			if got := len(srv.requests("/token")); got != 0 {
				t.Errorf("server received %d requests, want 0", got)
			}
		})
	}
	t.Run("invalid_target", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusBadRequest, `{"error":"invalid_target"}`)
		})
		_, err := testConfig(srv).TokenExchange(context.Background(), pixie.TokenExchangeRequest{
			SubjectToken: pixie.NewSecret("subject-secret"), SubjectTokenType: pixie.TokenTypeJWT,
		})
		if !errors.Is(err, pixie.ErrInvalidTarget) {
			t.Errorf("err = %v, want invalid_target", err)
		}
		checkNoSecrets(t, err, "subject-secret")
	})
}
