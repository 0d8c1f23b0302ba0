package pixie_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// TestPushedAuthorizationRequest logs in through PAR (RFC 9126) against the
// devserver, with a confidential and a public client: the browser sees only
// client_id and request_uri.
func TestPushedAuthorizationRequest(t *testing.T) {
	s := devservertest.NewServer(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		cfg  *pixie.Config
	}{
		{"confidential", s.Config(s.Confidential)},
		{"public", s.Config(s.Public)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.UsePAR = true
			ar, err := cfg.NewAuthRequest(ctx, pixie.Scopes("openid"))
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(ar.URL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if got, want := len(q), 2; got != want || q.Get("client_id") != cfg.ClientID || q.Get("request_uri") == "" {
				t.Fatalf("authorization URL query = %v, want only client_id and request_uri", q)
			}
			tok, err := cfg.HandleCallback(ctx, ar, s.Authorize(t, ar.URL).Query())
			if err != nil {
				t.Fatal(err)
			}
			if tok.IDToken.IsZero() {
				t.Error("no ID token")
			}
		})
	}
}

func TestPushedAuthorizationRequestNeedsEndpoint(t *testing.T) {
	s := devservertest.NewServer(t)
	cfg := s.Config(s.Confidential)
	cfg.Endpoint.PARURL = ""
	cfg.Endpoint.RequirePAR = true
	_, err := cfg.NewAuthRequest(context.Background())
	var e *pixie.Error
	if !errors.As(err, &e) || e.Op != "pushed authorization request" {
		t.Errorf("err = %v, want a PAR error naming the missing endpoint", err)
	}
}
