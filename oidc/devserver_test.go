package oidc_test

import (
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/oidc"
)

// TestDevserverLogin signs in against pixie's devserver: discovery, the
// authorization code flow, ID token verification and userinfo, end to end; then
// again after the server rotated its signing keys.
func TestDevserverLogin(t *testing.T) {
	srv := devservertest.NewServer(t)
	ctx := t.Context()
	m, err := new(pixie.Discovery).Discover(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &pixie.Config{
		ClientID:     srv.Confidential.ID,
		ClientSecret: srv.Confidential.Secret,
		Endpoint:     m.Endpoint(),
		RedirectURL:  devservertest.RedirectURL,
		Scopes:       []string{"openid", "email", "profile"},
	}
	v, err := oidc.NewVerifierFromMetadata(m, oidc.VerifierConfig{ClientID: cfg.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	login := func(t *testing.T) {
		t.Helper()
		ar, err := cfg.NewAuthRequest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cfg.HandleCallback(ctx, ar, srv.Authorize(t, ar.URL).Query())
		if err != nil {
			t.Fatal(err)
		}
		idToken, err := v.VerifyToken(ctx, tok, oidc.WithNonce(ar.Nonce))
		if err != nil {
			t.Fatal(err)
		}
		if idToken.Subject == "" {
			t.Fatal("ID token has an empty subject")
		}
		user, err := oidc.UserInfo(ctx, nil, m.UserinfoEndpoint, tok, oidc.WithSubject(idToken.Subject))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := user.Email, srv.User.Email; got != want {
			t.Errorf("userinfo email = %q, want %q", got, want)
		}
	}
	t.Run("first login", login)
	if err := srv.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	t.Run("after key rotation", login)
}
