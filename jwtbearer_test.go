package pixie_test

import (
	"context"
	"crypto"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pixieauth/pixie"
)

func TestJWTBearer(t *testing.T) {
	const assertion = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJzYSJ9.c2lnbmF0dXJl"
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	tok, err := c.JWTBearer(context.Background(), pixie.NewSecret(assertion), pixie.Scopes("cloud-platform"))
	if err != nil {
		t.Fatal(err)
	}
	checkForm(t, srv.only(t, "/token").Form, map[string]string{
		"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"assertion":  assertion,
		"scope":      "cloud-platform",
	})
	wantToken(t, tok, nil, testAccessToken, "Bearer", []string{"read", "write"})

	t.Run("no assertion", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		if _, err := testConfig(srv).JWTBearer(context.Background(), pixie.Secret{}); err == nil {
			t.Error("err = nil, want one")
		}
		if got := len(srv.requests("/token")); got != 0 {
			t.Errorf("server received %d requests, want 0", got)
		}
	})
	t.Run("invalid_grant", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"assertion expired"}`)
		})
		_, err := testConfig(srv).JWTBearer(context.Background(), pixie.NewSecret(assertion))
		if !errors.Is(err, pixie.ErrInvalidGrant) {
			t.Errorf("err = %v, want invalid_grant", err)
		}
		checkNoSecrets(t, err, assertion)
	})
}

func TestNewAssertion(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	claims := pixie.AssertionClaims{
		Issuer:   "robot@project.example",
		Subject:  "ada@example.com",
		Audience: "https://auth.example.com/token",
		Lifetime: 10 * time.Minute,
		Extra:    map[string]any{"scope": "read write", "tenant": "acme"},
	}
	keys := signingKeys(t)
	for alg, key := range keys {
		t.Run(string(alg), func(t *testing.T) {
			first, err := pixie.NewAssertion(key, "sa-key-1", claims, now)
			if err != nil {
				t.Fatal(err)
			}
			second, err := pixie.NewAssertion(key, "sa-key-1", claims, now)
			if err != nil {
				t.Fatal(err)
			}
			got, all, header := verifyJWT(t, first.Reveal(), alg, key.Public())
			other, _, _ := verifyJWT(t, second.Reveal(), alg, key.Public())
			if got.Issuer != claims.Issuer || got.Subject != claims.Subject {
				t.Errorf("iss, sub = %q, %q; want %q, %q", got.Issuer, got.Subject, claims.Issuer, claims.Subject)
			}
			if aud := []string(got.Audience); len(aud) != 1 || aud[0] != claims.Audience {
				t.Errorf("aud = %q, want [%q]", aud, claims.Audience)
			}
			if got.ID == "" || got.ID == other.ID {
				t.Errorf("jti %q is empty or repeated", got.ID)
			}
			if got.Expiry == nil || !got.Expiry.Time().Equal(now.Add(10*time.Minute)) {
				t.Errorf("exp = %v, want %v", got.Expiry, now.Add(10*time.Minute))
			}
			if got.IssuedAt == nil || got.IssuedAt.Time().After(now) || got.IssuedAt.Time().Before(now.Add(-time.Minute)) {
				t.Errorf("iat = %v, want at most a minute before %v", got.IssuedAt, now)
			}
			if err := got.ValidateWithLeeway(jwt.Expected{Issuer: claims.Issuer, Subject: claims.Subject,
				AnyAudience: jwt.Audience{claims.Audience}, Time: now.Add(time.Minute)}, 0); err != nil {
				t.Errorf("claims do not validate: %v", err)
			}
			if all["scope"] != "read write" || all["tenant"] != "acme" {
				t.Errorf("extra claims = %v, want scope and tenant", all)
			}
			if header.KeyID != "sa-key-1" {
				t.Errorf("kid = %q, want %q", header.KeyID, "sa-key-1")
			}
		})
	}
	t.Run("default lifetime", func(t *testing.T) {
		key := keys[jose.EdDSA]
		short := claims
		short.Lifetime, short.Extra = 0, nil
		a, err := pixie.NewAssertion(key, "", short, now)
		if err != nil {
			t.Fatal(err)
		}
		got, _, header := verifyJWT(t, a.Reveal(), jose.EdDSA, key.Public())
		if !got.Expiry.Time().Equal(now.Add(5 * time.Minute)) {
			t.Errorf("exp = %v, want 5 minutes after %v", got.Expiry.Time(), now)
		}
		if header.KeyID != "" {
			t.Errorf("kid = %q, want none", header.KeyID)
		}
	})
	t.Run("errors", func(t *testing.T) {
		weak := weakKeys(t)
		good := keys[jose.ES256]
		noAud := claims
		noAud.Audience = ""
		for name, tc := range map[string]struct {
			key    crypto.Signer
			claims pixie.AssertionClaims
		}{
			"no audience": {good, noAud},
			"RSA 1024":    {weak["RSA 1024"], claims},
			"P-224":       {weak["P-224"], claims},
			"no key":      {nil, claims},
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := pixie.NewAssertion(tc.key, "", tc.claims, now); err == nil {
					t.Error("err = nil, want one")
				}
			})
		}
	})
}
