package oidc_test

import (
	"crypto/elliptic"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/oidc"
)

// userinfoServer answers every request with handler and records the
// Authorization headers it received.
type userinfoServer struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newUserinfoServer(tb testing.TB, handler http.HandlerFunc) *userinfoServer {
	tb.Helper()
	s := &userinfoServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		handler(w, r)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *userinfoServer) authorization() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// jsonReply answers with body as application/json.
func jsonReply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
}

const accessToken = "2YotnFZFEjr1zCsicMWpAA"

func bearer(at string) *pixie.Token {
	return &pixie.Token{AccessToken: pixie.NewSecret(at), TokenType: "bearer"}
}

func TestUserInfo(t *testing.T) {
	srv := newUserinfoServer(t, jsonReply(`{"sub":"user-42","name":"Ada Lovelace","preferred_username":"ada",
		"email":"ada@example.com","email_verified":"true","picture":"https://img.example/ada.png","groups":["admins"]}`))
	u, err := oidc.UserInfo(t.Context(), nil, srv.URL+"/userinfo", bearer(accessToken), oidc.WithSubject("user-42"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"Subject", u.Subject, "user-42"},
		{"Name", u.Name, "Ada Lovelace"},
		{"PreferredUsername", u.PreferredUsername, "ada"},
		{"Email", u.Email, "ada@example.com"},
		{"Picture", u.Picture, "https://img.example/ada.png"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !u.EmailVerified {
		t.Error(`EmailVerified = false for "true", want true`)
	}
	var custom struct{ Groups []string }
	if err := u.Claims(&custom); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(custom.Groups, ","), "admins"; got != want {
		t.Errorf("groups = %q, want %q", got, want)
	}
	if got, want := srv.authorization(), []string{"Bearer " + accessToken}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("Authorization headers = %q, want %q", got, want)
	}
}

func TestUserInfoSendsTokenType(t *testing.T) {
	srv := newUserinfoServer(t, jsonReply(`{"sub":"s","email_verified":true}`))
	tok := &pixie.Token{AccessToken: pixie.NewSecret(accessToken), TokenType: "dpop"}
	u, err := oidc.UserInfo(t.Context(), srv.Client(), srv.URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	if !u.EmailVerified {
		t.Error("EmailVerified = false for true, want true")
	}
	if got, want := srv.authorization()[0], "DPoP "+accessToken; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
}

func TestUserInfoRefusedToken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		challenge []string
		body      string
		code      *pixie.Error
		desc      string
		want      string
	}{
		{
			name:      "expired token",
			status:    401,
			challenge: []string{`Bearer realm="example", error="invalid_token", error_description="The access token \"expired\", renew it"`},
			code:      pixie.ErrInvalidToken,
			desc:      `The access token "expired", renew it`,
			want:      "oauth2: userinfo: invalid_token",
		},
		{
			name:      "second challenge",
			status:    401,
			challenge: []string{`Basic realm="x"`, `DPoP algs="ES256 PS256", error=use_dpop_nonce, error_description="fresh nonce"`},
			code:      pixie.ErrUseDPoPNonce,
			desc:      "fresh nonce",
			want:      "use_dpop_nonce",
		},
		{
			name:      "insufficient scope",
			status:    403,
			challenge: []string{`Bearer error="insufficient_scope", scope="openid email"`},
			code:      pixie.ErrInsufficientScope,
			want:      "HTTP 403",
		},
		{
			name:      "unterminated quote after a token68 challenge",
			status:    401,
			challenge: []string{`Negotiate oYH3MIH0oAMKAQ==, Bearer error="invalid_token", error_description="cut short`},
			code:      pixie.ErrInvalidToken,
			desc:      "cut short",
			want:      "invalid_token",
		},
		{
			name:   "no challenge",
			status: 401,
			want:   "the access token was refused (HTTP 401)",
		},
		{
			name:   "JSON error body",
			status: 400,
			body:   `{"error":"invalid_request","error_description":"missing token"}`,
			code:   pixie.ErrInvalidRequest,
			desc:   "missing token",
			want:   "invalid_request: missing token (HTTP 400)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUserinfoServer(t, func(w http.ResponseWriter, r *http.Request) {
				for _, c := range tc.challenge {
					w.Header().Add("WWW-Authenticate", c)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := oidc.UserInfo(t.Context(), nil, srv.URL, bearer(accessToken))
			var e *pixie.Error
			if !errors.As(err, &e) {
				t.Fatalf("UserInfo error = %v (%T), want a *pixie.Error", err, err)
			}
			if got, want := e.StatusCode, tc.status; got != want {
				t.Errorf("StatusCode = %d, want %d", got, want)
			}
			if tc.code != nil && !errors.Is(err, tc.code) {
				t.Errorf("error %q is not %s", err, tc.code.Code)
			}
			if got, want := e.Description, tc.desc; got != want {
				t.Errorf("Description = %q, want %q", got, want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), accessToken) {
				t.Errorf("error %q contains the access token", err)
			}
		})
	}
}

func TestUserInfoServerErrorIsTemporary(t *testing.T) {
	srv := newUserinfoServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	_, err := oidc.UserInfo(t.Context(), nil, srv.URL, bearer(accessToken))
	if !pixie.Temporary(err) {
		t.Errorf("UserInfo error %v is not Temporary", err)
	}
}

func TestUserInfoRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		opts    []oidc.UserInfoOption
		want    string
	}{
		{"sub mismatch", jsonReply(`{"sub":"user-7"}`), []oidc.UserInfoOption{oidc.WithSubject("user-42")},
			`userinfo sub "user-7" does not match the ID token's sub "user-42"`},
		{"no sub", jsonReply(`{"name":"Ada"}`), nil, "no sub claim"},
		{"not an object", jsonReply(`["sub"]`), nil, "not a JSON object"},
		{"invalid JSON", jsonReply(`{"sub":`), nil, "userinfo response"},
		{"signed JWT without a verifier", jwtReply("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), nil, "pass oidc.WithVerifier"},
		{"encrypted JWT", jwtReply("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), nil, "encrypted JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUserinfoServer(t, tc.handler)
			_, err := oidc.UserInfo(t.Context(), nil, srv.URL, bearer(accessToken), tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("UserInfo error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// jwtReply answers with body as application/jwt.
func jwtReply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwt")
		fmt.Fprint(w, body)
	}
}

func TestUserInfoSignedResponse(t *testing.T) {
	key := newECKey(t, "ec", elliptic.P256(), jose.ES256)
	iss := newTestIssuer(t, key)
	v := iss.verifier(t)
	claims := map[string]any{"iss": iss.URL, "aud": testClientID, "sub": "user-42", "email": "ada@example.com"}
	with := func(k string, val any) map[string]any {
		c := maps.Clone(claims)
		c[k] = val
		return c
	}
	for _, tc := range []struct {
		name string
		body string
		want string // error substring; empty for success
	}{
		{name: "valid", body: key.sign(t, claims)},
		{name: "wrong issuer", body: key.sign(t, with("iss", "https://evil.example")), want: `iss "https://evil.example" is not the expected issuer`},
		{name: "wrong audience", body: key.sign(t, with("aud", "client-2")), want: `aud ["client-2"] does not contain the client ID`},
		{name: "unknown key", body: newECKey(t, "other", elliptic.P256(), jose.ES256).sign(t, claims), want: `no ES256 key with kid "other"`},
		{name: "alg none", body: unsignedToken(iss), want: `signed userinfo response refused: signed with alg "none"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newUserinfoServer(t, jwtReply(tc.body))
			u, err := oidc.UserInfo(t.Context(), nil, srv.URL, bearer(accessToken), oidc.WithVerifier(v), oidc.WithSubject("user-42"))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := u.Email, "ada@example.com"; got != want {
					t.Errorf("Email = %q, want %q", got, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("UserInfo error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestUserInfoRefusesBeforeSending(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		tok      *pixie.Token
		want     string
	}{
		{"http endpoint", "http://userinfo.example/me", bearer(accessToken), "refusing http://"},
		{"no endpoint", "", bearer(accessToken), "no URL configured"},
		{"no token", "https://userinfo.example/me", nil, "no access token"},
		{"empty token", "https://userinfo.example/me", &pixie.Token{}, "no access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oidc.UserInfo(t.Context(), nil, tc.endpoint, tc.tok)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("UserInfo error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestUserInfoAllowInsecureHTTP(t *testing.T) {
	// A transport that answers in place of the non-loopback host, so that the
	// test stays on the machine.
	srv := newUserinfoServer(t, jsonReply(`{"sub":"s"}`))
	client := &http.Client{Transport: rewriteHost{srv.Listener.Addr().String()}}
	if _, err := oidc.UserInfo(t.Context(), client, "http://userinfo.internal/me", bearer(accessToken), oidc.AllowInsecureHTTP()); err != nil {
		t.Fatal(err)
	}
}

// rewriteHost sends every request to host.
type rewriteHost struct{ host string }

func (rt rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Host = rt.host
	return http.DefaultTransport.RoundTrip(r)
}

func TestUserInfoRedirects(t *testing.T) {
	plain := newUserinfoServer(t, jsonReply(`{"sub":"s"}`))
	mux := http.NewServeMux()
	mux.Handle("/to-http", http.RedirectHandler(plain.URL+"/userinfo", http.StatusFound))
	mux.Handle("/to-https", http.RedirectHandler("/userinfo", http.StatusFound))
	mux.Handle("/userinfo", jsonReply(`{"sub":"s"}`))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)

	t.Run("from https to http", func(t *testing.T) {
		_, err := oidc.UserInfo(t.Context(), srv.Client(), srv.URL+"/to-http", bearer(accessToken))
		if err == nil || !strings.Contains(err.Error(), "refusing a redirect from https to http") {
			t.Errorf("UserInfo error = %v, want a refused redirect", err)
		}
		if got := plain.authorization(); len(got) != 0 {
			t.Errorf("the http endpoint received Authorization %q", got)
		}
	})
	t.Run("from https to https", func(t *testing.T) {
		if _, err := oidc.UserInfo(t.Context(), srv.Client(), srv.URL+"/to-https", bearer(accessToken)); err != nil {
			t.Fatal(err)
		}
	})
}
