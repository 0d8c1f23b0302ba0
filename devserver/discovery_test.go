package devserver_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

func TestDiscovery(t *testing.T) {
	srv := devservertest.NewServer(t)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			r := get(t, srv, path)
			wantOK(t, r, http.StatusOK)
			for key, want := range map[string]string{
				"issuer":                                srv.URL,
				"authorization_endpoint":                srv.URL + "/authorize",
				"token_endpoint":                        srv.URL + "/token",
				"device_authorization_endpoint":         srv.URL + "/device_authorization",
				"revocation_endpoint":                   srv.URL + "/revoke",
				"introspection_endpoint":                srv.URL + "/introspect",
				"userinfo_endpoint":                     srv.URL + "/userinfo",
				"pushed_authorization_request_endpoint": srv.URL + "/par",
				"registration_endpoint":                 srv.URL + "/register",
				"jwks_uri":                              srv.URL + "/jwks",
			} {
				if got := r.str(key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			if got, want := r.body["authorization_response_iss_parameter_supported"], true; got != want {
				t.Errorf("authorization_response_iss_parameter_supported = %v, want %v", got, want)
			}
			if got, want := strs(r.body["code_challenge_methods_supported"]), []string{"S256"}; !slices.Equal(got, want) {
				t.Errorf("code_challenge_methods_supported = %v, want %v", got, want)
			}
			if got, want := strs(r.body["response_types_supported"]), []string{"code"}; !slices.Equal(got, want) {
				t.Errorf("response_types_supported = %v, want %v", got, want)
			}
			if got := strs(r.body["grant_types_supported"]); slices.Contains(got, "password") || slices.Contains(got, "implicit") {
				t.Errorf("grant_types_supported = %v advertises a grant that is off", got)
			}
			for _, m := range []string{"client_secret_basic", "client_secret_post", "none", "client_secret_jwt", "private_key_jwt"} {
				if !slices.Contains(strs(r.body["token_endpoint_auth_methods_supported"]), m) {
					t.Errorf("token_endpoint_auth_methods_supported lacks %s", m)
				}
			}
			if got := strs(r.body["introspection_endpoint_auth_methods_supported"]); slices.Contains(got, "none") || !slices.Contains(got, "client_secret_basic") {
				t.Errorf("introspection_endpoint_auth_methods_supported = %v, want the authenticating methods only (RFC 7662 section 2.1)", got)
			}
			if !slices.Contains(strs(r.body["dpop_signing_alg_values_supported"]), "ES256") {
				t.Errorf("dpop_signing_alg_values_supported = %v, want ES256 in it", r.body["dpop_signing_alg_values_supported"])
			}
		})
	}
	t.Run("password grant advertised when enabled", func(t *testing.T) {
		srv := devservertest.NewServer(t, func(o *devserver.Options) { o.EnablePassword = true })
		r := get(t, srv, "/.well-known/oauth-authorization-server")
		if !slices.Contains(strs(r.body["grant_types_supported"]), "password") {
			t.Errorf("grant_types_supported = %v, want password in it", r.body["grant_types_supported"])
		}
	})
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestJWKSRotation(t *testing.T) {
	clk := newClock()
	srv := devservertest.NewServer(t, withClock(clk), func(o *devserver.Options) { o.KeyRetention = time.Hour })

	r := get(t, srv, "/jwks")
	wantOK(t, r, http.StatusOK)
	var algs []string
	for _, k := range r.body["keys"].([]any) {
		m := k.(map[string]any)
		algs = append(algs, m["alg"].(string))
		if _, private := m["d"]; private {
			t.Fatalf("JWKS publishes a private key: %v", m["kid"])
		}
	}
	slices.Sort(algs)
	if got, want := algs, []string{"ES256", "RS256"}; !slices.Equal(got, want) {
		t.Fatalf("JWKS algorithms = %v, want %v", got, want)
	}

	old := kids(srv.KeySet())
	tok := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "client_credentials")).str("access_token")
	if err := srv.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	after := kids(srv.KeySet())
	if got, want := len(after), 4; got != want {
		t.Fatalf("after rotation the JWKS has %d keys, want %d (new and retained)", got, want)
	}
	for _, k := range old {
		if !slices.Contains(after, k) {
			t.Errorf("retired key %s is no longer published", k)
		}
	}
	if kid := headerKID(t, tok); !slices.Contains(after, kid) {
		t.Errorf("a token signed before rotation (kid %s) cannot be verified with the JWKS", kid)
	}
	newTok := post(t, srv, "/token", &srv.Confidential, formOf("grant_type", "client_credentials")).str("access_token")
	if kid := headerKID(t, newTok); slices.Contains(old, kid) {
		t.Errorf("a token issued after rotation is signed with retired key %s", kid)
	}

	clk.Advance(time.Hour)
	if got, want := len(srv.KeySet().Keys), 2; got != want {
		t.Errorf("after the retention period the JWKS has %d keys, want %d", got, want)
	}

	t.Run("admin API", func(t *testing.T) {
		r := post(t, srv, "/admin/rotate-keys", nil, nil)
		wantOK(t, r, http.StatusOK)
		if got, want := len(r.body["keys"].([]any)), 4; got != want {
			t.Errorf("rotate-keys answered %d keys, want %d", got, want)
		}
	})
}

func headerKID(t testing.TB, token string) string {
	t.Helper()
	tok, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Signatures[0].Protected.KeyID
}
