package devserver_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestClientAuthentication(t *testing.T) {
	odd := devserver.Client{ID: "odd id:é", Secret: pixie.NewSecret("s3cr%t:+ &x"), AuthMethod: pixie.ClientSecretBasic}
	hmac := devserver.Client{ID: "hmac", Secret: pixie.NewSecret("an-hmac-secret-of-at-least-32-bytes!"), AuthMethod: pixie.ClientSecretJWT}
	srv := devservertest.NewServer(t, func(o *devserver.Options) { o.Clients = append(o.Clients, odd, hmac) })
	cc := formOf("grant_type", "client_credentials")

	raw := func(t *testing.T, form url.Values, authz string) *response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		return call(t, srv, req)
	}
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	with := func(f url.Values, kv ...string) url.Values {
		f = cloneForm(f)
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}

	t.Run("client_secret_basic", func(t *testing.T) {
		wantOK(t, post(t, srv, "/token", &srv.Confidential, cc), http.StatusOK)
	})
	t.Run("client_secret_basic form-encodes id and secret", func(t *testing.T) {
		wantOK(t, raw(t, cc, basic(url.QueryEscape(odd.ID), url.QueryEscape(odd.Secret.Reveal()))), http.StatusOK)
	})
	t.Run("wrong secret answers 401 with WWW-Authenticate", func(t *testing.T) {
		r := raw(t, cc, basic("confidential", "wrong"))
		wantError(t, r, http.StatusUnauthorized, "invalid_client")
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("WWW-Authenticate = %q, want a Basic challenge", r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("empty parameters count as omitted", func(t *testing.T) {
		// RFC 6749 sections 3.1 and 3.2: a parameter sent without a value is
		// treated as if it were omitted, so an empty client_secret or
		// client_assertion is no second authentication method.
		wantOK(t, raw(t, with(cc, "client_secret", "", "client_assertion", "", "client_assertion_type", ""),
			basic("confidential", "confidential-secret")), http.StatusOK)
		wantOK(t, raw(t, with(cc, "client_secret", "", "scope", ""), basic("confidential", "confidential-secret")), http.StatusOK)
		r := raw(t, formOf("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", "unknown",
			"client_id", "device", "client_secret", ""), "")
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("client_secret_post", func(t *testing.T) {
		wantOK(t, post(t, srv, "/token", &srv.Post, cc), http.StatusOK)
	})
	t.Run("client_secret_jwt", func(t *testing.T) {
		a := sign(t, jose.HS256, []byte(hmac.Secret.Reveal()), map[string]any{"iss": "hmac", "sub": "hmac",
			"aud": srv.URL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "j1"}, nil)
		wantOK(t, raw(t, with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", a), ""), http.StatusOK)
	})
	t.Run("private_key_jwt", func(t *testing.T) {
		wantOK(t, raw(t, with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion", assertion(t, srv, nil)), ""), http.StatusOK)
	})

	fails := []struct {
		name   string
		form   url.Values
		authz  string
		status int
		code   string
	}{
		{"no authentication", with(cc, "client_id", "confidential"), "", 401, "invalid_client"},
		{"nothing at all", cc, "", 401, "invalid_client"},
		{"unknown client", cc, basic("nobody", "x"), 401, "invalid_client"},
		{"post client using basic", cc, basic("post", "post-secret"), 401, "invalid_client"},
		{"basic client using post", with(cc, "client_id", "confidential", "client_secret", "confidential-secret"), "", 401, "invalid_client"},
		{"two methods", with(cc, "client_id", "confidential", "client_secret", "confidential-secret"), basic("confidential", "confidential-secret"), 400, "invalid_request"},
		{"unencoded Basic credentials", cc, basic("odd%zz", "x"), 401, "invalid_client"},
		{"public client without secret for client_credentials", with(cc, "client_id", "public"), "", 400, "unauthorized_client"},
		{"assertion of a secret client", with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion", sign(t, jose.HS256, []byte("confidential-secret-padding-to-32-bytes"), map[string]any{"iss": "confidential", "sub": "confidential", "aud": "x"}, nil)), "", 401, "invalid_client"},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, raw(t, tt.form, tt.authz), tt.status, tt.code)
		})
	}

	t.Run("private_key_jwt rejections", func(t *testing.T) {
		other := newDPoPKey(t).key
		cases := []struct {
			name string
			a    string
		}{
			{"wrong audience", assertion(t, srv, map[string]any{"aud": "https://elsewhere.example"})},
			{"expired", assertion(t, srv, map[string]any{"exp": time.Now().Add(-time.Second).Unix()})},
			{"no exp", assertion(t, srv, map[string]any{"exp": nil})},
			{"exp a day away", assertion(t, srv, map[string]any{"exp": time.Now().Add(24 * time.Hour).Unix()})},
			{"audience of another endpoint", assertion(t, srv, map[string]any{"aud": srv.URL + "/userinfo"})},
			{"no jti", assertion(t, srv, map[string]any{"jti": nil})},
			{"iss differs from sub", assertion(t, srv, map[string]any{"iss": "confidential"})},
			{"signed with another key", sign(t, jose.ES256, other, map[string]any{"iss": "key-client", "sub": "key-client",
				"aud": srv.URL, "exp": time.Now().Add(time.Minute).Unix(), "jti": "k"}, nil)},
			{"not a JWT", "not-a-jwt"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := raw(t, with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", c.a), "")
				wantError(t, r, http.StatusUnauthorized, "invalid_client")
			})
		}
	})

	t.Run("replayed jti", func(t *testing.T) {
		a := assertion(t, srv, map[string]any{"jti": "once"})
		f := with(cc, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", a)
		wantOK(t, raw(t, f, ""), http.StatusOK)
		wantError(t, raw(t, f, ""), http.StatusUnauthorized, "invalid_client")
	})

	t.Run("wrong assertion type", func(t *testing.T) {
		r := raw(t, with(cc, "client_assertion_type", "urn:example:other", "client_assertion", assertion(t, srv, nil)), "")
		wantError(t, r, http.StatusUnauthorized, "invalid_client")
	})
}
