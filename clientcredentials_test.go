package pixie_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
)

func TestClientCredentials(t *testing.T) {
	srv := newAuthServer(t, replyToken)
	clock := newStepClock()
	c := testConfig(srv)
	c.Scopes = []string{"default"}
	c.Now = clock.Now

	tok, err := c.ClientCredentials(context.Background(),
		pixie.Scopes("read", "write"),
		pixie.Resource("https://api.example.com/"),
		pixie.Resource("https://files.example.com/"),
		pixie.Audience("orders"),
		pixie.Param("tenant", "acme"))
	if err != nil {
		t.Fatal(err)
	}
	req := srv.only(t, "/token")
	checkForm(t, req.Form, map[string]string{
		"grant_type": "client_credentials",
		"scope":      "read write",
		"audience":   "orders",
		"tenant":     "acme",
	})
	if got, want := req.Form["resource"], []string{"https://api.example.com/", "https://files.example.com/"}; !slices.Equal(got, want) {
		t.Errorf("resource = %q, want %q", got, want)
	}
	checkAbsent(t, req.Form, "client_id", "client_secret")
	if id, secret := basicCredentials(t, req.Header); id != testClientID || secret != testClientSecret {
		t.Errorf("Basic credentials = %q, %q; want %q, %q", id, secret, testClientID, testClientSecret)
	}
	if got, want := req.Header.Get("Accept"), "application/json"; got != want {
		t.Errorf("Accept = %q, want %q", got, want)
	}

	if got, want := tok.AccessToken.Reveal(), testAccessToken; got != want {
		t.Errorf("AccessToken = %q, want %q", got, want)
	}
	if got, want := tok.RefreshToken.Reveal(), testRefreshToken; got != want {
		t.Errorf("RefreshToken = %q, want %q", got, want)
	}
	if got, want := tok.Type(), "Bearer"; got != want {
		t.Errorf("Type() = %q, want %q", got, want)
	}
	if got, want := tok.Expiry, clock.Now().Add(time.Hour); !got.Equal(want) {
		t.Errorf("Expiry = %v, want %v", got, want)
	}
	if got, want := tok.Scope, []string{"read", "write"}; !slices.Equal(got, want) {
		t.Errorf("Scope = %q, want %q", got, want)
	}
}

func TestClientCredentialsDefaultScopes(t *testing.T) {
	t.Run("Config.Scopes sent, and kept when the response omits scope", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusOK, `{"access_token":"a","token_type":"Bearer"}`)
		})
		c := testConfig(srv)
		c.Scopes = []string{"orders:read", "orders:write"}
		tok, err := c.ClientCredentials(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		checkForm(t, srv.only(t, "/token").Form, map[string]string{"scope": "orders:read orders:write"})
		if got, want := tok.Scope, c.Scopes; !slices.Equal(got, want) {
			t.Errorf("Scope = %q, want %q", got, want)
		}
		if !tok.Expiry.IsZero() {
			t.Errorf("Expiry = %v, want zero without expires_in", tok.Expiry)
		}
	})
	t.Run("no scope at all", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		if _, err := testConfig(srv).ClientCredentials(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkAbsent(t, srv.only(t, "/token").Form, "scope")
	})
	t.Run("comma separator quirk", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		c := testConfig(srv)
		c.Endpoint.Quirks.ScopeSeparator = ","
		if _, err := c.ClientCredentials(context.Background(), pixie.Scopes("a", "b")); err != nil {
			t.Fatal(err)
		}
		checkForm(t, srv.only(t, "/token").Form, map[string]string{"scope": "a,b"})
	})
	t.Run("quirk headers", func(t *testing.T) {
		srv := newAuthServer(t, replyToken)
		c := testConfig(srv)
		c.Endpoint.Quirks.Header = http.Header{"User-Agent": {"pixie-test/1.0"}}
		if _, err := c.ClientCredentials(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := srv.only(t, "/token").Header.Get("User-Agent"), "pixie-test/1.0"; got != want {
			t.Errorf("User-Agent = %q, want %q", got, want)
		}
	})
}

func TestOptionsRefused(t *testing.T) {
	reserved := []string{
		"grant_type", "code", "code_verifier", "code_challenge", "code_challenge_method",
		"client_id", "client_secret", "client_assertion", "client_assertion_type",
		"state", "nonce", "redirect_uri", "response_type", "scope", "refresh_token",
		"device_code", "request_uri", "assertion", "subject_token", "actor_token",
	}
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	for _, key := range reserved {
		t.Run("Param "+key, func(t *testing.T) {
			_, err := c.ClientCredentials(context.Background(), pixie.Param(key, "x"))
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("err = %v, want one naming %q", err, key)
			}
		})
	}
	for _, uri := range []string{"api", "/relative", "https://api.example.com/#frag", "::"} {
		t.Run("Resource "+uri, func(t *testing.T) {
			_, err := c.ClientCredentials(context.Background(), pixie.Resource(uri))
			if err == nil || !strings.Contains(err.Error(), "RFC 8707") {
				t.Errorf("err = %v, want an RFC 8707 error", err)
			}
		})
	}
	if got := len(srv.requests("/token")); got != 0 {
		t.Errorf("server received %d requests for refused options, want 0", got)
	}
}

// TestTokenResponses runs the token responses servers really send through a
// client credentials grant.
func TestTokenResponses(t *testing.T) {
	html := "<html><body>" + strings.Repeat("Bad Gateway ", 1000) + "</body></html>"
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		nested      string
		check       func(t *testing.T, tok *pixie.Token, err error)
	}{
		{
			name: "form-encoded", status: 200, contentType: "application/x-www-form-urlencoded",
			body: "access_token=" + testAccessToken + "&token_type=bearer&scope=repo%2Cgist&expires_in=28800",
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, testAccessToken, "Bearer", []string{"repo", "gist"})
				if got, want := tok.ExpiresIn(tok.Expiry.Add(-8*time.Hour)), 8*time.Hour; got != want {
					t.Errorf("lifetime = %v, want %v", got, want)
				}
			},
		},
		{
			name: "text/plain JSON", status: 200, contentType: "text/plain; charset=utf-8",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","scope":"a b"}`,
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, testAccessToken, "Bearer", []string{"a", "b"})
			},
		},
		{
			name: "text/plain form", status: 200, contentType: "text/plain",
			body: "access_token=" + testAccessToken + "&token_type=Bearer&scope=a",
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, testAccessToken, "Bearer", []string{"a"})
			},
		},
		{
			name: "missing token_type", status: 200, contentType: "application/json",
			body: `{"access_token":"` + testAccessToken + `"}`,
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, testAccessToken, "Bearer", nil)
				if got, want := tok.TokenType, "Bearer"; got != want {
					t.Errorf("TokenType = %q, want %q", got, want)
				}
			},
		},
		{
			name: "lowercase bearer", status: 200, contentType: "application/json",
			body: `{"access_token":"` + testAccessToken + `","token_type":"bearer","expires_in":"60"}`,
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, testAccessToken, "Bearer", nil)
				if got, want := tok.TokenType, "bearer"; got != want {
					t.Errorf("TokenType = %q, want the issued %q", got, want)
				}
			},
		},
		{
			name: "extra members", status: 200, contentType: "application/json",
			body: `{"access_token":"a","token_type":"Bearer","id_token":"h.p.s","instance_url":"https://x.example","n":5}`,
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, "a", "Bearer", nil)
				if got, want := tok.IDToken.Reveal(), "h.p.s"; got != want {
					t.Errorf("IDToken = %q, want %q", got, want)
				}
				if got, want := tok.Extra["instance_url"], any("https://x.example"); got != want {
					t.Errorf("Extra[instance_url] = %v, want %v", got, want)
				}
				if got, want := tok.Extra["n"], any(5.0); got != want {
					t.Errorf("Extra[n] = %v (%T), want %v", got, got, want)
				}
				if _, ok := tok.Extra["access_token"]; ok {
					t.Error("Extra holds access_token")
				}
			},
		},
		{
			name: "GitHub error with HTTP 200", status: 200, contentType: "application/x-www-form-urlencoded",
			body: "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.example%2Ferr",
			check: func(t *testing.T, _ *pixie.Token, err error) {
				e := asError(t, err)
				if e.Code != "bad_verification_code" || e.Description != "The code passed is incorrect or expired." || e.URI != "https://docs.example/err" {
					t.Errorf("error = %+v, want GitHub's code, description and URI", *e)
				}
				if got, want := e.StatusCode, 200; got != want {
					t.Errorf("StatusCode = %d, want %d", got, want)
				}
				checkNoSecrets(t, err)
			},
		},
		{
			name: "text/plain form error with HTTP 200", status: 200, contentType: "text/plain",
			body: "error=invalid_grant&error_description=expired",
			check: func(t *testing.T, _ *pixie.Token, err error) {
				if !errors.Is(err, pixie.ErrInvalidGrant) {
					t.Errorf("err = %v, want invalid_grant", err)
				}
			},
		},
		{
			name: "Slack error with HTTP 200", status: 200, contentType: "application/json; charset=utf-8",
			body: `{"ok":false,"error":"invalid_code"}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				if got, want := asError(t, err).Code, "invalid_code"; got != want {
					t.Errorf("Code = %q, want %q", got, want)
				}
				if pixie.Temporary(err) || pixie.LoginRequired(err) {
					t.Errorf("invalid_code: Temporary or LoginRequired is true")
				}
			},
		},
		{
			name: "Slack nested user token", status: 200, contentType: "application/json", nested: "authed_user",
			body: `{"ok":true,"access_token":"xoxb-bot","token_type":"bot","scope":"chat:write","refresh_token":"xoxe-bot",` +
				`"expires_in":43200,"team":{"id":"T1"},` +
				`"authed_user":{"id":"U1","scope":"search:read","access_token":"xoxp-user","token_type":"user"}}`,
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, "xoxp-user", "user", []string{"search:read"})
				if !tok.RefreshToken.IsZero() || !tok.Expiry.IsZero() {
					t.Errorf("user token took the bot token's refresh token or lifetime: %v", tok)
				}
				if got, want := tok.Extra["id"], any("U1"); got != want {
					t.Errorf("Extra[id] = %v, want %v", got, want)
				}
				if _, ok := tok.Extra["team"]; !ok {
					t.Error("Extra lacks the response's team member")
				}
			},
		},
		{
			name: "Slack bot token without the nested member", status: 200, contentType: "application/json", nested: "authed_user",
			body: `{"ok":true,"access_token":"xoxb-bot","token_type":"bot"}`,
			check: func(t *testing.T, tok *pixie.Token, err error) {
				wantToken(t, tok, err, "xoxb-bot", "bot", nil)
			},
		},
		{
			name: "missing access_token", status: 200, contentType: "application/json",
			body: `{"token_type":"Bearer","refresh_token":"` + testRefreshToken + `"}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "no access_token")
			},
		},
		{
			name: "non-string access_token", status: 200, contentType: "application/json",
			body: `{"access_token":12345678,"token_type":"Bearer"}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "access_token")
				checkNoSecrets(t, err, "12345678")
			},
		},
		{
			name: "garbage", status: 200, contentType: "application/json",
			body: `access_token=` + testAccessToken + `&not json`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "not a JSON object")
			},
		},
		{
			name: "HTML page with 200", status: 200, contentType: "text/html",
			body: "<html>" + testAccessToken + "</html>",
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "text/html")
			},
		},
		{
			name: "bad expires_in", status: 200, contentType: "application/json",
			body: `{"access_token":"` + testAccessToken + `","expires_in":true}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "expires_in")
			},
		},
		{
			name: "trailing data", status: 200, contentType: "application/json",
			body: `{"access_token":"` + testAccessToken + `"}{"access_token":"other"}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "trailing data")
			},
		},
		{
			name: "oversized body", status: 200, contentType: "application/json",
			body: `{"access_token":"` + testAccessToken + `","pad":"` + strings.Repeat("x", 1<<20) + `"}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				wantErrorContaining(t, err, "larger than")
			},
		},
		{
			name: "HTML error page with 502", status: 502, contentType: "text/html",
			body: html,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				e := asError(t, err)
				if got, want := e.StatusCode, 502; got != want {
					t.Errorf("StatusCode = %d, want %d", got, want)
				}
				if e.Code != "" {
					t.Errorf("Code = %q, want none", e.Code)
				}
				if got, want := len(e.Body), pixie.MaxErrorBody; got != want {
					t.Errorf("len(Body) = %d, want %d", got, want)
				}
				if !strings.HasPrefix(html, string(e.Body)) {
					t.Error("Body is not the start of the response")
				}
				if !pixie.Temporary(err) {
					t.Error("Temporary = false, want true")
				}
				if pixie.LoginRequired(err) {
					t.Error("LoginRequired = true, want false")
				}
				if msg := err.Error(); strings.Contains(msg, "Bad Gateway Bad Gateway") || !strings.Contains(msg, "502") {
					t.Errorf("error %q should name the status and not quote the page", msg)
				}
			},
		},
		{
			name: "invalid_client with 401", status: 401, contentType: "application/json",
			body: `{"error":"invalid_client","error_description":"unknown client"}`,
			check: func(t *testing.T, _ *pixie.Token, err error) {
				if !errors.Is(err, pixie.ErrInvalidClient) {
					t.Errorf("err = %v, want invalid_client", err)
				}
				if pixie.Temporary(err) {
					t.Error("Temporary = true, want false")
				}
				checkNoSecrets(t, err)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
				reply(w, tt.status, tt.contentType, tt.body)
			})
			c := testConfig(srv)
			c.Retry.MaxAttempts = 1
			c.Endpoint.Quirks.NestedTokenField = tt.nested
			tok, err := c.ClientCredentials(context.Background())
			if err != nil {
				checkNoSecrets(t, err)
			}
			tt.check(t, tok, err)
		})
	}
}

// wantToken fails the test unless tok has the access token, Type() and scope.
func wantToken(tb testing.TB, tok *pixie.Token, err error, access, typ string, scope []string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("err = %v, want a token", err)
	}
	if got := tok.AccessToken.Reveal(); got != access {
		tb.Errorf("AccessToken = %q, want %q", got, access)
	}
	if got := tok.Type(); got != typ {
		tb.Errorf("Type() = %q, want %q", got, typ)
	}
	if got := tok.Scope; !slices.Equal(got, scope) {
		tb.Errorf("Scope = %q, want %q", got, scope)
	}
}

// wantErrorContaining fails the test unless err is a *pixie.Error whose message
// contains want.
func wantErrorContaining(tb testing.TB, err error, want string) {
	tb.Helper()
	asError(tb, err)
	if !strings.Contains(err.Error(), want) {
		tb.Errorf("error %q does not contain %q", err, want)
	}
}
