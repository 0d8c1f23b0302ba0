package devserver_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// These tests drive the server with golang.org/x/oauth2, an independent client,
// to show it speaks standard OAuth and not only pixie's dialect.

func oauth2Context(srv *devservertest.Server) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, srv.HTTPClient())
}

func TestOAuth2AuthorizationCodeAndRefresh(t *testing.T) {
	srv := devservertest.NewServer(t)
	ctx := oauth2Context(srv)
	for _, tt := range []struct {
		client devserver.Client
		style  oauth2.AuthStyle
	}{
		{srv.Confidential, oauth2.AuthStyleInHeader},
		{srv.Post, oauth2.AuthStyleInParams},
		{srv.Public, oauth2.AuthStyleInParams},
	} {
		t.Run(tt.client.ID, func(t *testing.T) {
			ep := srv.OAuth2Endpoint()
			ep.AuthStyle = tt.style
			conf := &oauth2.Config{ClientID: tt.client.ID, ClientSecret: tt.client.Secret.Reveal(), Endpoint: ep,
				RedirectURL: "http://127.0.0.1:8765/callback", Scopes: []string{"openid", "profile"}}
			verifier := oauth2.GenerateVerifier()
			cb := srv.Authorize(t, conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier)))
			if got, want := cb.Query().Get("state"), "st-1"; got != want {
				t.Fatalf("state = %q, want %q", got, want)
			}
			tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" || tok.Extra("id_token") == nil || !tok.Valid() {
				t.Fatalf("token %+v lacks a refresh token or ID token", tok)
			}

			// Refresh through the TokenSource: expire the token first.
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := conf.TokenSource(ctx, tok).Token()
			if err != nil {
				t.Fatal(err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh returned the same tokens")
			}
			client := conf.Client(ctx, fresh)
			resp, err := client.Get(srv.URL + "/userinfo")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got, want := resp.StatusCode, http.StatusOK; got != want {
				t.Errorf("userinfo status = %d, want %d", got, want)
			}

			// The rotated-out refresh token is refused with invalid_grant.
			_, err = conf.TokenSource(ctx, tok).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("refresh with a rotated-out token: %v, want invalid_grant", err)
			}
		})
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	srv := devservertest.NewServer(t)
	for _, tt := range []struct {
		client devserver.Client
		style  oauth2.AuthStyle
	}{
		{srv.Confidential, oauth2.AuthStyleInHeader},
		{srv.Post, oauth2.AuthStyleInParams},
	} {
		t.Run(tt.client.ID, func(t *testing.T) {
			conf := &clientcredentials.Config{ClientID: tt.client.ID, ClientSecret: tt.client.Secret.Reveal(),
				TokenURL: srv.URL + "/token", Scopes: []string{"read", "write"}, AuthStyle: tt.style}
			tok, err := conf.Token(oauth2Context(srv))
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Valid() || tok.TokenType != "Bearer" {
				t.Errorf("token = %+v", tok)
			}
			if got, want := tok.Extra("scope"), "read write"; got != want {
				t.Errorf("scope = %v, want %v", got, want)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		conf := &clientcredentials.Config{ClientID: "confidential", ClientSecret: "wrong", TokenURL: srv.URL + "/token",
			AuthStyle: oauth2.AuthStyleInHeader}
		_, err := conf.Token(oauth2Context(srv))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
			t.Errorf("err = %v, want invalid_client with HTTP 401", err)
		}
	})
}

func TestOAuth2Device(t *testing.T) {
	srv := devservertest.NewServer(t, func(o *devserver.Options) { o.DeviceInterval = time.Second })
	ctx := oauth2Context(srv)
	ep := srv.OAuth2Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	conf := &oauth2.Config{ClientID: srv.Device.ID, Endpoint: ep, Scopes: []string{"openid"}}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.VerificationURI != srv.URL+"/device" || da.UserCode == "" || da.Interval != 1 {
		t.Fatalf("device authorization = %+v", da)
	}
	srv.ApproveDevice(t, da.UserCode)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Valid() || tok.RefreshToken == "" {
		t.Errorf("device token = %+v", tok)
	}
	if got := srv.Count(devserver.Match{Endpoint: "token", GrantType: "urn:ietf:params:oauth:grant-type:device_code", Status: 400}); got != 0 {
		t.Errorf("x/oauth2 polling at the interval got %d error answers (slow_down?), want 0", got)
	}
}
