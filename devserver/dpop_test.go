package devserver_test

import (
	"crypto/sha256"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestDPoP(t *testing.T) {
	srv := devservertest.NewServer(t)
	key := newDPoPKey(t)
	tokenURL := srv.URL + "/token"
	cc := formOf("grant_type", "client_credentials")

	t.Run("bound token", func(t *testing.T) {
		r := post(t, srv, "/token", &srv.Confidential, cc, "DPoP", key.proof(t, "POST", tokenURL, nil))
		wantOK(t, r, http.StatusOK)
		if got, want := r.str("token_type"), "DPoP"; got != want {
			t.Errorf("token_type = %q, want %q", got, want)
		}
		cnf, _ := claims(t, r.str("access_token"))["cnf"].(map[string]any)
		if got, want := cnf["jkt"], key.jkt; got != want {
			t.Errorf("cnf.jkt = %v, want %v", got, want)
		}
		intro := post(t, srv, "/introspect", &srv.Confidential, formOf("token", r.str("access_token")))
		if got, want := intro.str("token_type"), "DPoP"; got != want {
			t.Errorf("introspection token_type = %q, want %q", got, want)
		}
	})

	hs := sign(t, jose.HS256, []byte("a-symmetric-key-of-32-bytes-long!"), map[string]any{"jti": "h", "htm": "POST", "htu": tokenURL,
		"iat": time.Now().Unix()}, (&jose.SignerOptions{}).WithType("dpop+jwt"))
	noJWK := sign(t, jose.ES256, key.key, map[string]any{"jti": "n", "htm": "POST", "htu": tokenURL, "iat": time.Now().Unix()},
		(&jose.SignerOptions{}).WithType("dpop+jwt"))
	wrongTyp := sign(t, jose.ES256, key.key, map[string]any{"jti": "w", "htm": "POST", "htu": tokenURL, "iat": time.Now().Unix()},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
	replayed := key.proof(t, "POST", tokenURL, nil)
	wantOK(t, post(t, srv, "/token", &srv.Confidential, cc, "DPoP", replayed), http.StatusOK)
	bad := []struct{ name, proof string }{
		{"wrong htm", key.proof(t, "GET", tokenURL, nil)},
		{"wrong htu", key.proof(t, "POST", srv.URL+"/other", nil)},
		{"old iat", key.proof(t, "POST", tokenURL, map[string]any{"iat": time.Now().Add(-time.Hour).Unix()})},
		{"future iat", key.proof(t, "POST", tokenURL, map[string]any{"iat": time.Now().Add(time.Hour).Unix()})},
		{"no jti", key.proof(t, "POST", tokenURL, map[string]any{"jti": nil})},
		{"symmetric algorithm", hs},
		{"no jwk header", noJWK},
		{"wrong typ", wrongTyp},
		{"replayed jti", replayed},
		{"garbage", "not.a.jwt"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, post(t, srv, "/token", &srv.Confidential, cc, "DPoP", tt.proof), http.StatusBadRequest, "invalid_dpop_proof")
		})
	}

	t.Run("userinfo with a bound token", func(t *testing.T) {
		code, verifier := authorize(t, srv, srv.Public, url.Values{"scope": {"openid profile"}})
		r := post(t, srv, "/token", &srv.Public, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}}, "DPoP", key.proof(t, "POST", tokenURL, nil))
		wantOK(t, r, http.StatusOK)
		at := r.str("access_token")
		sum := sha256.Sum256([]byte(at))
		userinfo := func(scheme, proof string) *response {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/userinfo", nil)
			req.Header.Set("Authorization", scheme+" "+at)
			if proof != "" {
				req.Header.Set("DPoP", proof)
			}
			return call(t, srv, req)
		}
		ok := userinfo("DPoP", key.proof(t, "GET", srv.URL+"/userinfo", map[string]any{"ath": b64(sum[:])}))
		wantOK(t, ok, http.StatusOK)
		if got, want := ok.str("sub"), "alice"; got != want {
			t.Errorf("sub = %q, want %q", got, want)
		}
		if got := userinfo("Bearer", ""); got.status != http.StatusUnauthorized {
			t.Errorf("a DPoP-bound token used as a bearer token got HTTP %d, want 401", got.status)
		}
		other := newDPoPKey(t)
		if got := userinfo("DPoP", other.proof(t, "GET", srv.URL+"/userinfo", map[string]any{"ath": b64(sum[:])})); got.status != http.StatusUnauthorized {
			t.Errorf("a proof from another key got HTTP %d, want 401", got.status)
		}
		if got := userinfo("DPoP", key.proof(t, "GET", srv.URL+"/userinfo", nil)); got.status != http.StatusUnauthorized {
			t.Errorf("a proof without ath got HTTP %d, want 401", got.status)
		}

		// A public client's refresh token is bound to the key too.
		rf := formOf("grant_type", "refresh_token", "refresh_token", r.str("refresh_token"))
		wantError(t, post(t, srv, "/token", &srv.Public, rf), http.StatusBadRequest, "invalid_grant")
		wantError(t, post(t, srv, "/token", &srv.Public, rf, "DPoP", other.proof(t, "POST", tokenURL, nil)), http.StatusBadRequest, "invalid_grant")
		wantOK(t, post(t, srv, "/token", &srv.Public, rf, "DPoP", key.proof(t, "POST", tokenURL, nil)), http.StatusOK)
	})

	t.Run("dpop_jkt in the authorization request", func(t *testing.T) {
		exchange := func(k *dpopKey) *response {
			code, verifier := authorize(t, srv, srv.Public, url.Values{"dpop_jkt": {key.jkt}})
			return post(t, srv, "/token", &srv.Public, url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}}, "DPoP", k.proof(t, "POST", tokenURL, nil))
		}
		wantError(t, exchange(newDPoPKey(t)), http.StatusBadRequest, "invalid_dpop_proof")
		wantOK(t, exchange(key), http.StatusOK)
	})

	t.Run("DPoP header at the PAR endpoint binds the code", func(t *testing.T) {
		// RFC 9449 section 10.1: a proof sent with the pushed request counts as
		// dpop_jkt for its key.
		push := func(t *testing.T, extra url.Values, proof string) (*response, string) {
			t.Helper()
			u, verifier := authURL(srv, srv.Public, extra)
			parsed, _ := url.Parse(u)
			return post(t, srv, "/par", &srv.Public, parsed.Query(), "DPoP", proof), verifier
		}
		redeem := func(t *testing.T, requestURI, verifier string, k *dpopKey) *response {
			t.Helper()
			cb := srv.Authorize(t, srv.URL+"/authorize?"+url.Values{"client_id": {srv.Public.ID}, "request_uri": {requestURI}}.Encode())
			return post(t, srv, "/token", &srv.Public, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
				"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}}, "DPoP", k.proof(t, "POST", tokenURL, nil))
		}
		parURL := srv.URL + "/par"
		r, verifier := push(t, nil, key.proof(t, "POST", parURL, nil))
		wantOK(t, r, http.StatusCreated)
		wantError(t, redeem(t, r.str("request_uri"), verifier, newDPoPKey(t)), http.StatusBadRequest, "invalid_dpop_proof")

		r, verifier = push(t, nil, key.proof(t, "POST", parURL, nil))
		wantOK(t, r, http.StatusCreated)
		wantOK(t, redeem(t, r.str("request_uri"), verifier, key), http.StatusOK)

		r, _ = push(t, url.Values{"dpop_jkt": {newDPoPKey(t).jkt}}, key.proof(t, "POST", parURL, nil))
		wantError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
		r, _ = push(t, nil, key.proof(t, "POST", tokenURL, nil))
		wantError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
	})

	t.Run("htu is compared after normalization", func(t *testing.T) {
		// RFC 9449 section 4.3: query and fragment are ignored; scheme and host
		// case and a default port do not matter (RFC 3986 sections 6.2.2, 6.2.3).
		srv := devservertest.NewServer(t, func(o *devserver.Options) { o.Issuer = "http://localhost" })
		for _, htu := range []string{"http://localhost/token", "HTTP://LocalHost/token", "http://localhost:80/token", "http://localhost/token?x=1#f"} {
			t.Run(htu, func(t *testing.T) {
				wantOK(t, post(t, srv, "/token", &srv.Confidential, cc, "DPoP", key.proof(t, "POST", htu, nil)), http.StatusOK)
			})
		}
		for _, htu := range []string{"http://localhost:8080/token", "https://localhost/token", "http://localhost/Token", "http://localhost/token/", "/token"} {
			t.Run(htu, func(t *testing.T) {
				wantError(t, post(t, srv, "/token", &srv.Confidential, cc, "DPoP", key.proof(t, "POST", htu, nil)), http.StatusBadRequest, "invalid_dpop_proof")
			})
		}
	})

	t.Run("nonce", func(t *testing.T) {
		srv := devservertest.NewServer(t, func(o *devserver.Options) { o.RequireDPoPNonce = true })
		tokenURL := srv.URL + "/token"
		r := post(t, srv, "/token", &srv.Confidential, cc, "DPoP", key.proof(t, "POST", tokenURL, nil))
		wantError(t, r, http.StatusBadRequest, "use_dpop_nonce")
		nonce := r.header.Get("DPoP-Nonce")
		if nonce == "" {
			t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
		}
		ok := post(t, srv, "/token", &srv.Confidential, cc, "DPoP", key.proof(t, "POST", tokenURL, map[string]any{"nonce": nonce}))
		wantOK(t, ok, http.StatusOK)
		if got, want := ok.str("token_type"), "DPoP"; got != want {
			t.Errorf("token_type = %q, want %q", got, want)
		}
	})
}
