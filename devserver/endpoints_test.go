package devserver_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestRevocation(t *testing.T) {
	srv := devservertest.NewServer(t)
	revoke := func(t *testing.T, token string, extra ...string) *response {
		t.Helper()
		return post(t, srv, "/revoke", &srv.Confidential, formOf(append([]string{"token", token}, extra...)...))
	}
	t.Run("refresh token revokes the family", func(t *testing.T) {
		r := codeTokens(t, srv, srv.Confidential, nil)
		wantOK(t, revoke(t, r.str("refresh_token"), "token_type_hint", "refresh_token"), http.StatusOK)
		if active(t, srv, r.str("access_token")) || active(t, srv, r.str("refresh_token")) {
			t.Errorf("tokens are active after their refresh token was revoked")
		}
		wantError(t, post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "refresh_token", "refresh_token", r.str("refresh_token"))),
			http.StatusBadRequest, "invalid_grant")
	})
	t.Run("access token", func(t *testing.T) {
		r := codeTokens(t, srv, srv.Confidential, nil)
		wantOK(t, revoke(t, r.str("access_token")), http.StatusOK)
		if active(t, srv, r.str("access_token")) {
			t.Errorf("the revoked access token is active")
		}
		if !active(t, srv, r.str("refresh_token")) {
			t.Errorf("revoking the access token revoked the refresh token")
		}
	})
	t.Run("unknown or wrong hint is ignored", func(t *testing.T) {
		// RFC 7009 section 2.1: a server that cannot find the token with the
		// hint searches every token type; the hint never causes an error.
		for _, hint := range []string{"id_token", "access_token"} {
			r := codeTokens(t, srv, srv.Confidential, nil)
			wantOK(t, revoke(t, r.str("refresh_token"), "token_type_hint", hint), http.StatusOK)
			if active(t, srv, r.str("refresh_token")) {
				t.Errorf("hint %s: the refresh token is active after revocation", hint)
			}
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		wantOK(t, revoke(t, "never-issued"), http.StatusOK)
	})
	t.Run("another client's token", func(t *testing.T) {
		r := codeTokens(t, srv, srv.Post, nil)
		wantError(t, revoke(t, r.str("refresh_token")), http.StatusBadRequest, "unauthorized_client")
		if !active(t, srv, r.str("refresh_token")) {
			t.Errorf("another client revoked the token")
		}
	})
	t.Run("errors", func(t *testing.T) {
		wantError(t, post(t, srv, "/revoke", &srv.Confidential, nil), http.StatusBadRequest, "invalid_request")
		wantError(t, post(t, srv, "/revoke", nil, formOf("token", "x")), http.StatusUnauthorized, "invalid_client")
	})
}

func TestIntrospection(t *testing.T) {
	srv := devservertest.NewServer(t)
	r := codeTokens(t, srv, srv.Confidential, url.Values{"scope": {"openid email"}})
	intro := post(t, srv, "/introspect", &srv.Post, formOf("token", r.str("access_token")))
	wantOK(t, intro, http.StatusOK)
	for k, want := range map[string]any{"active": true, "client_id": "confidential", "sub": "alice", "username": "alice",
		"scope": "openid email", "token_type": "Bearer", "iss": srv.URL} {
		if intro.body[k] != want {
			t.Errorf("%s = %v, want %v", k, intro.body[k], want)
		}
	}
	if intro.body["exp"] == nil {
		t.Errorf("introspection has no exp")
	}
	rt := post(t, srv, "/introspect", &srv.Post, formOf("token", r.str("refresh_token")))
	if rt.body["active"] != true || rt.str("token_type") != "refresh_token" {
		t.Errorf("refresh token introspection = %s", rt.raw)
	}
	unknown := post(t, srv, "/introspect", &srv.Post, formOf("token", "nope"))
	if got := unknown.raw; strings.TrimSpace(got) != `{"active":false}` {
		t.Errorf("unknown token introspection = %s, want only active false", got)
	}
	wantError(t, post(t, srv, "/introspect", nil, formOf("token", "nope")), http.StatusUnauthorized, "invalid_client")

	t.Run("public client", func(t *testing.T) {
		// RFC 7662 section 2.1: the endpoint requires authorization, and a
		// client_id alone proves nothing; otherwise anyone could probe tokens.
		wantError(t, post(t, srv, "/introspect", &srv.Public, formOf("token", r.str("access_token"))), http.StatusUnauthorized, "invalid_client")
	})

	t.Run("opaque tokens", func(t *testing.T) {
		srv := devservertest.NewServer(t, func(o *devserver.Options) { o.AccessTokenFormat = "opaque" })
		r := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "client_credentials"))
		wantOK(t, r, http.StatusOK)
		if strings.Count(r.str("access_token"), ".") == 2 {
			t.Errorf("an opaque access token looks like a JWT")
		}
		if !active(t, srv, r.str("access_token")) {
			t.Errorf("the opaque token is not active")
		}
	})
}

func TestUserinfo(t *testing.T) {
	srv := devservertest.NewServer(t)
	userinfo := func(authz string) *response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/userinfo", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		return call(t, srv, req)
	}
	r := codeTokens(t, srv, srv.Confidential, url.Values{"scope": {"openid profile email"}})
	ok := userinfo("Bearer " + r.str("access_token"))
	wantOK(t, ok, http.StatusOK)
	for k, want := range map[string]string{"sub": "alice", "name": "Alice Liddell", "email": "alice@example.test"} {
		if got := ok.str(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	t.Run("every claim is advertised", func(t *testing.T) {
		supported := strs(get(t, srv, "/.well-known/openid-configuration").body["claims_supported"])
		for k := range ok.body {
			if !slices.Contains(supported, k) {
				t.Errorf("userinfo returns %s, which claims_supported %v lacks", k, supported)
			}
		}
	})
	for name, authz := range map[string]string{"no token": "", "unknown token": "Bearer nope"} {
		t.Run(name, func(t *testing.T) {
			got := userinfo(authz)
			if got.status != http.StatusUnauthorized || !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("got HTTP %d, WWW-Authenticate %q; want 401 with a Bearer challenge", got.status, got.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("client token", func(t *testing.T) {
		cc := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "client_credentials", "scope", "openid"))
		if got := userinfo("Bearer " + cc.str("access_token")); got.status != http.StatusForbidden {
			t.Errorf("a client's own token got HTTP %d, want 403", got.status)
		}
	})
}

func TestPAR(t *testing.T) {
	srv := devservertest.NewServer(t)
	u, verifier := authURL(srv, srv.Confidential, url.Values{"scope": {"openid"}})
	parsed, _ := url.Parse(u)
	push := parsed.Query()
	push.Del("client_id")
	r := post(t, srv, "/par", &srv.Confidential, push)
	wantOK(t, r, http.StatusCreated)
	uri := r.str("request_uri")
	if !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || r.body["expires_in"] == nil {
		t.Fatalf("PAR response = %s", r.raw)
	}
	authz := srv.URL + "/authorize?" + url.Values{"client_id": {"confidential"}, "request_uri": {uri}}.Encode()
	cb := srv.Authorize(t, authz)
	if got, want := cb.Query().Get("state"), "xyz"; got != want {
		t.Errorf("state = %q, want %q (from the pushed request)", got, want)
	}
	tok := post(t, srv, "/token", &srv.Confidential, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}})
	wantOK(t, tok, http.StatusOK)

	t.Run("request_uri is single use", func(t *testing.T) {
		resp, err := noFollow(srv).Get(authz)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("pushed request is checked", func(t *testing.T) {
		bad := cloneForm(push)
		bad.Set("code_challenge_method", "plain")
		wantError(t, post(t, srv, "/par", &srv.Confidential, bad), http.StatusBadRequest, "invalid_request")
		bad = cloneForm(push)
		bad.Set("redirect_uri", "https://attacker.example/cb")
		wantError(t, post(t, srv, "/par", &srv.Confidential, bad), http.StatusBadRequest, "invalid_request")
	})
	t.Run("client authentication", func(t *testing.T) {
		wantError(t, post(t, srv, "/par", nil, push), http.StatusUnauthorized, "invalid_client")
	})
	t.Run("only POST", func(t *testing.T) {
		// RFC 9126 section 2.3: another method is answered with 405.
		r := get(t, srv, "/par")
		if got, want := r.status, http.StatusMethodNotAllowed; got != want {
			t.Errorf("GET /par: status = %d, want %d", got, want)
		}
		if got, want := r.header.Get("Allow"), "POST"; got != want {
			t.Errorf("Allow = %q, want %q", got, want)
		}
	})
	t.Run("client assertion with the PAR endpoint as audience", func(t *testing.T) {
		// RFC 9126 section 2: the issuer, the token endpoint and the PAR endpoint
		// all identify the server as the assertion's audience.
		f := cloneForm(push)
		f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		f.Set("client_assertion", assertion(t, srv, map[string]any{"aud": srv.URL + "/par"}))
		wantOK(t, post(t, srv, "/par", nil, f), http.StatusCreated)
	})
}

func TestRegistration(t *testing.T) {
	srv := devservertest.NewServer(t)
	register := func(t *testing.T, meta map[string]any) *response {
		t.Helper()
		b, _ := json.Marshal(meta)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/register", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return call(t, srv, req)
	}
	r := register(t, map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "client_name": "Demo",
		"grant_types": []string{"authorization_code", "refresh_token", "client_credentials"}})
	wantOK(t, r, http.StatusCreated)
	if r.str("client_id") == "" || r.str("client_secret") == "" || r.str("token_endpoint_auth_method") != "client_secret_basic" {
		t.Fatalf("registration response = %s", r.raw)
	}
	c, ok := srv.Client(r.str("client_id"))
	if !ok {
		t.Fatalf("registered client %s is unknown to the server", r.str("client_id"))
	}
	wantOK(t, post(t, srv, "/token", &c, formOf("grant_type", "client_credentials")), http.StatusOK)

	t.Run("public client", func(t *testing.T) {
		r := register(t, map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"})
		wantOK(t, r, http.StatusCreated)
		if _, has := r.body["client_secret"]; has {
			t.Errorf("a public client got a secret")
		}
	})
	for name, tt := range map[string]struct {
		meta map[string]any
		code string
	}{
		"no redirect URIs":             {map[string]any{}, "invalid_redirect_uri"},
		"redirect with fragment":       {map[string]any{"redirect_uris": []string{"https://app.example/cb#x"}}, "invalid_redirect_uri"},
		"javascript redirect":          {map[string]any{"redirect_uris": []string{"javascript:alert(document.domain)//"}}, "invalid_redirect_uri"},
		"data redirect":                {map[string]any{"redirect_uris": []string{"data:text/html,<script>alert(1)</script>"}}, "invalid_redirect_uri"},
		"vbscript redirect":            {map[string]any{"redirect_uris": []string{"VBScript:msgbox(1)"}}, "invalid_redirect_uri"},
		"unknown auth method":          {map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "magic"}, "invalid_client_metadata"},
		"implicit":                     {map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "response_types": []string{"token"}}, "invalid_client_metadata"},
		"private_key_jwt without jwks": {map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, register(t, tt.meta), http.StatusBadRequest, tt.code)
		})
	}
}
