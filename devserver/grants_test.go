package devserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestTokenExchange(t *testing.T) {
	srv := devservertest.NewServer(t)
	user := codeTokens(t, srv, srv.Confidential, url.Values{"scope": {"openid profile"}})
	service := post(t, srv, "/token", &srv.Post, formOf("grant_type", "client_credentials"))
	const te = "urn:ietf:params:oauth:grant-type:token-exchange"
	const at = "urn:ietf:params:oauth:token-type:access_token"

	t.Run("delegation", func(t *testing.T) {
		r := post(t, srv, "/token", &srv.Post, formOf("grant_type", te, "subject_token", user.str("access_token"),
			"subject_token_type", at, "actor_token", service.str("access_token"), "actor_token_type", at,
			"audience", "https://api.example", "scope", "profile"))
		wantOK(t, r, http.StatusOK)
		if got, want := r.str("issued_token_type"), at; got != want {
			t.Errorf("issued_token_type = %q, want %q", got, want)
		}
		c := claims(t, r.str("access_token"))
		if c["sub"] != "alice" || c["client_id"] != "post" || c["scope"] != "profile" {
			t.Errorf("exchanged token claims = %v", c)
		}
		if aud, _ := c["aud"].([]any); len(aud) != 1 || aud[0] != "https://api.example" {
			t.Errorf("aud = %v, want the requested audience", c["aud"])
		}
		if act, _ := c["act"].(map[string]any); act["sub"] != "post" {
			t.Errorf("act = %v, want sub post", c["act"])
		}
	})
	t.Run("ID token as subject", func(t *testing.T) {
		r := post(t, srv, "/token", &srv.Post, formOf("grant_type", te, "subject_token", user.str("id_token"),
			"subject_token_type", "urn:ietf:params:oauth:token-type:id_token"))
		wantOK(t, r, http.StatusOK)
		if got, want := claims(t, r.str("access_token"))["sub"], "alice"; got != want {
			t.Errorf("sub = %v, want %v", got, want)
		}
	})
	t.Run("revoked access token as a JWT subject", func(t *testing.T) {
		// Declaring this server's access token a plain JWT must not get around
		// its revocation.
		revoked := post(t, srv, "/token", &srv.Post, formOf("grant_type", "client_credentials"))
		wantOK(t, post(t, srv, "/revoke", &srv.Post, formOf("token", revoked.str("access_token"))), http.StatusOK)
		for _, typ := range []string{at, "urn:ietf:params:oauth:token-type:jwt"} {
			r := post(t, srv, "/token", &srv.Post, formOf("grant_type", te, "subject_token", revoked.str("access_token"), "subject_token_type", typ))
			wantError(t, r, http.StatusBadRequest, "invalid_request")
		}
		wantOK(t, post(t, srv, "/token", &srv.Post, formOf("grant_type", te, "subject_token", service.str("access_token"),
			"subject_token_type", "urn:ietf:params:oauth:token-type:jwt")), http.StatusOK)
	})
	t.Run("scope never widens", func(t *testing.T) {
		// RFC 8693 sections 2.1 and 2.2.2: the new token's scope is what the
		// subject token had and the exchanging client may have, never more.
		srv := devservertest.NewServer(t, func(o *devserver.Options) {
			o.Clients = append(o.Clients, devserver.Client{ID: "narrow", Secret: secret("narrow-secret"),
				AuthMethod: "client_secret_post", Scopes: []string{"profile", "email"}})
		})
		narrow, ok := srv.Client("narrow")
		if !ok {
			t.Fatal("client narrow is not registered")
		}
		user := codeTokens(t, srv, srv.Confidential, url.Values{"scope": {"openid profile"}})
		exchange := func(c *devserver.Client, subject, subjectType string, kv ...string) *response {
			return post(t, srv, "/token", c, formOf(append([]string{"grant_type", te, "subject_token", subject, "subject_token_type", subjectType}, kv...)...))
		}
		for _, tt := range []struct {
			name   string
			client *devserver.Client
			scope  []string
			want   string
		}{
			{"subject's scope within the client's", &narrow, nil, "profile"},
			{"subject's scope for a client with no limit", &srv.Post, nil, "openid profile"},
			{"requested within both", &narrow, []string{"scope", "profile"}, "profile"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := exchange(tt.client, user.str("access_token"), at, tt.scope...)
				wantOK(t, r, http.StatusOK)
				if got := r.str("scope"); got != tt.want {
					t.Errorf("scope = %q, want %q", got, tt.want)
				}
				if got := claims(t, r.str("access_token"))["scope"]; got != tt.want {
					t.Errorf("access token scope = %v, want %q", got, tt.want)
				}
			})
		}
		for _, tt := range []struct {
			name   string
			client *devserver.Client
			scope  string
		}{
			{"requested beyond the client's", &narrow, "openid"},
			{"requested beyond the subject's", &srv.Post, "openid email"},
			{"requested beyond the subject's but within the client's", &narrow, "email"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantError(t, exchange(tt.client, user.str("access_token"), at, "scope", tt.scope), http.StatusBadRequest, "invalid_scope")
			})
		}
		t.Run("ID token subject: the client's scopes bound the request", func(t *testing.T) {
			r := exchange(&narrow, user.str("id_token"), "urn:ietf:params:oauth:token-type:id_token", "scope", "email")
			wantOK(t, r, http.StatusOK)
			if got, want := r.str("scope"), "email"; got != want {
				t.Errorf("scope = %q, want %q", got, want)
			}
		})
	})
	for name, f := range map[string][]string{
		"invalid subject token":    {"subject_token", "nope", "subject_token_type", at},
		"missing subject type":     {"subject_token", user.str("access_token")},
		"unsupported subject type": {"subject_token", "x", "subject_token_type", "urn:example:saml"},
		"unsupported requested":    {"subject_token", user.str("access_token"), "subject_token_type", at, "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, post(t, srv, "/token", &srv.Post, formOf(append([]string{"grant_type", te}, f...)...)), http.StatusBadRequest, "invalid_request")
		})
	}
}

func TestJWTBearer(t *testing.T) {
	idpKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const idp = "https://idp.example"
	srv := devservertest.NewServer(t, func(o *devserver.Options) {
		o.TrustedIssuers = []devserver.TrustedIssuer{{Issuer: idp, Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &idpKey.PublicKey, KeyID: "idp-1", Algorithm: "ES256"}}}}}
	})
	const grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	idpAssertion := func(c map[string]any) string {
		base := map[string]any{"iss": idp, "sub": "alice", "aud": srv.URL, "exp": time.Now().Add(time.Minute).Unix(), "jti": rand.Text()}
		for k, v := range c {
			if v == nil {
				delete(base, k)
			} else {
				base[k] = v
			}
		}
		return sign(t, jose.ES256, idpKey, base, (&jose.SignerOptions{}).WithHeader("kid", "idp-1"))
	}
	bearer := func(a string) *response {
		return post(t, srv, "/token", &srv.Confidential, formOf("grant_type", grant, "assertion", a))
	}

	t.Run("trusted issuer", func(t *testing.T) {
		r := bearer(idpAssertion(nil))
		wantOK(t, r, http.StatusOK)
		if got, want := claims(t, r.str("access_token"))["sub"], "alice"; got != want {
			t.Errorf("sub = %v, want %v", got, want)
		}
	})
	t.Run("client's own key", func(t *testing.T) {
		a := assertion(t, srv, map[string]any{"sub": "alice"})
		f := formOf("grant_type", grant, "assertion", a, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion", assertion(t, srv, nil))
		wantOK(t, post(t, srv, "/token", nil, f), http.StatusOK)
	})
	replayed := idpAssertion(nil)
	wantOK(t, bearer(replayed), http.StatusOK)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, a := range map[string]string{
		"replayed jti":     replayed,
		"expired":          idpAssertion(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}),
		"wrong audience":   idpAssertion(map[string]any{"aud": "https://other.example"}),
		"exp a day away":   idpAssertion(map[string]any{"exp": time.Now().Add(24 * time.Hour).Unix()}),
		"no sub":           idpAssertion(map[string]any{"sub": nil}),
		"untrusted issuer": idpAssertion(map[string]any{"iss": "https://evil.example"}),
		"bad signature": sign(t, jose.ES256, other, map[string]any{"iss": idp, "sub": "alice", "aud": srv.URL,
			"exp": time.Now().Add(time.Minute).Unix(), "jti": "z"}, (&jose.SignerOptions{}).WithHeader("kid", "idp-1")),
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, bearer(a), http.StatusBadRequest, "invalid_grant")
		})
	}
	t.Run("missing assertion", func(t *testing.T) {
		wantError(t, post(t, srv, "/token", &srv.Confidential, formOf("grant_type", grant)), http.StatusBadRequest, "invalid_request")
	})
}

func TestPasswordGrant(t *testing.T) {
	form := formOf("grant_type", "password", "username", "alice", "password", "wonderland")
	t.Run("off by default", func(t *testing.T) {
		srv := devservertest.NewServer(t)
		wantError(t, post(t, srv, "/token", &srv.Confidential, form), http.StatusBadRequest, "unsupported_grant_type")
	})
	t.Run("enabled", func(t *testing.T) {
		srv := devservertest.NewServer(t, func(o *devserver.Options) { o.EnablePassword = true })
		r := post(t, srv, "/token", &srv.Confidential, form)
		wantOK(t, r, http.StatusOK)
		if r.str("refresh_token") == "" {
			t.Errorf("no refresh token")
		}
		bad := cloneForm(form)
		bad.Set("password", "wrong")
		wantError(t, post(t, srv, "/token", &srv.Confidential, bad), http.StatusBadRequest, "invalid_grant")
	})
}

func TestTokenEndpointRequests(t *testing.T) {
	srv := devservertest.NewServer(t, func(o *devserver.Options) {
		o.Clients = append(o.Clients, devserver.Client{ID: "limited", Secret: secret("limited-secret"),
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"read"}})
	})
	limited, _ := srv.Client("limited")
	t.Run("GET is refused", func(t *testing.T) {
		wantError(t, get(t, srv, "/token?grant_type=client_credentials"), http.StatusBadRequest, "invalid_request")
	})
	t.Run("JSON body is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", nil)
		req.Header.Set("Content-Type", "application/json")
		wantError(t, call(t, srv, req), http.StatusBadRequest, "invalid_request")
	})
	t.Run("oversized body", func(t *testing.T) {
		// RFC 9126 section 2.3 names 413 for a request beyond the size the server
		// allows; the token endpoint answers the same way.
		for _, path := range []string{"/token", "/par"} {
			r := post(t, srv, path, &srv.Confidential, formOf("grant_type", "client_credentials", "scope", strings.Repeat("a", 100<<10)))
			wantError(t, r, http.StatusRequestEntityTooLarge, "invalid_request")
		}
	})
	t.Run("repeated parameter", func(t *testing.T) {
		wantError(t, post(t, srv, "/token", &srv.Confidential, url.Values{"grant_type": {"client_credentials"}, "scope": {"a", "b"}}),
			http.StatusBadRequest, "invalid_request")
	})
	t.Run("missing grant_type", func(t *testing.T) {
		wantError(t, post(t, srv, "/token", &srv.Confidential, nil), http.StatusBadRequest, "invalid_request")
	})
	t.Run("unknown grant_type", func(t *testing.T) {
		wantError(t, post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "implicit")), http.StatusBadRequest, "unsupported_grant_type")
	})
	t.Run("grant not allowed for the client", func(t *testing.T) {
		wantError(t, post(t, srv, "/token", &limited, formOf("grant_type", "refresh_token", "refresh_token", "x")), http.StatusBadRequest, "unauthorized_client")
	})
	t.Run("scope not allowed for the client", func(t *testing.T) {
		wantOK(t, post(t, srv, "/token", &limited, formOf("grant_type", "client_credentials", "scope", "read")), http.StatusOK)
		wantError(t, post(t, srv, "/token", &limited, formOf("grant_type", "client_credentials", "scope", "read write")), http.StatusBadRequest, "invalid_scope")
	})
}
