package devserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"golang.org/x/oauth2"
)

// noFollow is an HTTP client that returns redirects instead of following them.
func noFollow(srv *devservertest.Server) *http.Client {
	c := *srv.HTTPClient()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestAuthorizeErrors(t *testing.T) {
	srv := devservertest.NewServer(t)
	verifier := oauth2.GenerateVerifier()
	base := url.Values{
		"response_type":         {"code"},
		"client_id":             {"public"},
		"redirect_uri":          {devservertest.RedirectURL},
		"state":                 {"s1"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	// Errors redirected to the client, with state and iss (RFC 6749 4.1.2.1, RFC 9207).
	redirected := []struct {
		name   string
		change url.Values
		code   string
	}{
		{"missing PKCE", url.Values{"code_challenge": nil, "code_challenge_method": nil}, "invalid_request"},
		{"plain PKCE", url.Values{"code_challenge_method": {"plain"}, "code_challenge": {verifier}}, "invalid_request"},
		{"PKCE method missing", url.Values{"code_challenge_method": nil}, "invalid_request"},
		{"malformed challenge", url.Values{"code_challenge": {"short"}}, "invalid_request"},
		{"implicit grant", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
		{"missing response_type", url.Values{"response_type": nil}, "invalid_request"},
		{"bad scope", url.Values{"scope": {`a"b`}}, "invalid_scope"},
		{"request object", url.Values{"request": {"eyJhbGciOiJub25lIn0.e30."}}, "request_not_supported"},
		{"negative max_age", url.Values{"max_age": {"-5"}}, "invalid_request"},
	}
	for _, tt := range redirected {
		t.Run(tt.name, func(t *testing.T) {
			loc := authorizeRedirect(t, srv, base, tt.change)
			q := loc.Query()
			if got, want := q.Get("error"), tt.code; got != want {
				t.Errorf("error = %q, want %q (%s)", got, want, q.Get("error_description"))
			}
			if got, want := q.Get("state"), "s1"; got != want {
				t.Errorf("state = %q, want %q", got, want)
			}
			if got, want := q.Get("iss"), srv.URL; got != want {
				t.Errorf("iss = %q, want %q", got, want)
			}
			if q.Has("code") {
				t.Errorf("an error redirect carries a code")
			}
		})
	}
	// Errors shown to the user: the redirect URI cannot be trusted.
	shown := []struct {
		name   string
		change url.Values
	}{
		{"wrong redirect_uri", url.Values{"redirect_uri": {"http://127.0.0.1/other"}}},
		{"redirect_uri of another host", url.Values{"redirect_uri": {"https://attacker.example/callback"}}},
		{"unknown client", url.Values{"client_id": {"nobody"}}},
		{"missing client_id", url.Values{"client_id": nil}},
		{"repeated parameter", url.Values{"state": {"a", "b"}}},
		{"device client without redirect URIs", url.Values{"client_id": {"device"}, "redirect_uri": nil}},
		{"loopback redirect_uri with a fragment", url.Values{"redirect_uri": {"http://127.0.0.1:49152/callback#frag"}}},
		{"loopback redirect_uri with user info", url.Values{"redirect_uri": {"http://user@127.0.0.1:49152/callback"}}},
		{"loopback redirect_uri with an encoded path", url.Values{"redirect_uri": {"http://127.0.0.1:49152/%63allback"}}},
	}
	for _, tt := range shown {
		t.Run(tt.name, func(t *testing.T) {
			resp := authorizeResponse(t, srv, base, tt.change)
			if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
				t.Errorf("status = %d, want %d (Location %q)", got, want, resp.Header.Get("Location"))
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("redirected to %s", loc)
			}
		})
	}
	t.Run("loopback redirect URI with any port", func(t *testing.T) {
		loc := authorizeRedirect(t, srv, base, url.Values{"redirect_uri": {"http://127.0.0.1:49152/callback"}})
		if got, want := loc.Host, "127.0.0.1:49152"; got != want {
			t.Errorf("redirected to host %q, want %q", got, want)
		}
		if loc.Query().Get("code") == "" {
			t.Errorf("no code in %s", loc)
		}
	})
	t.Run("loopback with another path", func(t *testing.T) {
		resp := authorizeResponse(t, srv, base, url.Values{"redirect_uri": {"http://127.0.0.1:49152/elsewhere"}})
		if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("auto-approve redirects with code, state and iss", func(t *testing.T) {
		q := authorizeRedirect(t, srv, base, nil).Query()
		if q.Get("code") == "" || q.Get("state") != "s1" || q.Get("iss") != srv.URL {
			t.Errorf("callback query = %v, want code, state s1 and iss %s", q, srv.URL)
		}
	})
}

func authorizeResponse(t *testing.T, srv *devservertest.Server, base, change url.Values) *http.Response {
	t.Helper()
	q := cloneForm(base)
	for k, v := range change {
		if v == nil {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	resp, err := noFollow(srv).Get(srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// authorizeRedirect sends an authorization request and returns the redirect to
// the client.
func authorizeRedirect(t *testing.T, srv *devservertest.Server, base, change url.Values) *url.URL {
	t.Helper()
	resp := authorizeResponse(t, srv, base, change)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want a 302 redirect to the client", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), "http://127.0.0.1") || loc.Path != "/callback" {
		t.Fatalf("redirected to %s, not the client", loc)
	}
	return loc
}
