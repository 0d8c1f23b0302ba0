package pixie_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
)

// base64url is the alphabet of pixie's random values (RFC 4648 section 5, no
// padding), a subset of RFC 7636's unreserved characters.
var base64url = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestS256ChallengeRFC7636Vector(t *testing.T) {
	// RFC 7636 Appendix B.
	octets := []byte{116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173,
		187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83,
		132, 141, 121}
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	if got := base64.RawURLEncoding.EncodeToString(octets); got != verifier {
		t.Fatalf("the vector's octets encode to %q, want %q", got, verifier)
	}
	if got, want := pixie.S256Challenge(pixie.NewSecret(verifier)), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("S256Challenge = %q, want %q", got, want)
	}
}

func TestNewVerifier(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		v := pixie.NewVerifier().Reveal()
		if got, want := len(v), 43; got != want {
			t.Fatalf("len(verifier) = %d, want %d", got, want)
		}
		if !base64url.MatchString(v) {
			t.Fatalf("verifier %q has characters outside RFC 7636 section 4.1's set", v)
		}
		if seen[v] {
			t.Fatalf("verifier %q repeated", v)
		}
		seen[v] = true
	}
}

func TestNewAuthRequest(t *testing.T) {
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	c.Endpoint.AuthURL = srv.URL + "/authorize?tenant=acme"
	c.Endpoint.IssParameterSupported = true
	c.Endpoint.Quirks.AuthParams = map[string]string{"access_type": "offline"}
	c.Scopes = []string{"openid", "profile"}
	clock := newStepClock()
	c.Now = clock.Now

	ar, err := c.NewAuthRequest(context.Background(),
		pixie.Prompt("consent"), pixie.LoginHint("ada@example.com"), pixie.Param("ui_locales", "fr"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ar.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, srv.URL+"/authorize"; got != want {
		t.Errorf("URL endpoint = %q, want %q", got, want)
	}
	q := u.Query()
	checkForm(t, q, map[string]string{
		"tenant":                "acme",
		"access_type":           "offline",
		"response_type":         "code",
		"client_id":             testClientID,
		"redirect_uri":          c.RedirectURL,
		"scope":                 "openid profile",
		"state":                 ar.State,
		"code_challenge_method": "S256",
		"nonce":                 ar.Nonce,
		"prompt":                "consent",
		"login_hint":            "ada@example.com",
		"ui_locales":            "fr",
	})
	checkAbsent(t, q, "client_secret", "code_verifier")
	if len(ar.State) < 43 || !base64url.MatchString(ar.State) {
		t.Errorf("State = %q, want 43 or more base64url characters", ar.State)
	}
	if len(ar.Nonce) < 43 {
		t.Errorf("Nonce = %q, want 43 or more characters", ar.Nonce)
	}
	sum := sha256.Sum256([]byte(ar.Verifier.Reveal()))
	if got, want := q.Get("code_challenge"), base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("code_challenge = %q, want BASE64URL(SHA256(verifier)) = %q", got, want)
	}
	if strings.Contains(ar.URL, ar.Verifier.Reveal()) || strings.Contains(ar.URL, testClientSecret) {
		t.Error("the authorization URL carries the verifier or the client secret")
	}
	if ar.Issuer != srv.URL || !ar.IssRequired || ar.RedirectURL != c.RedirectURL {
		t.Errorf("AuthRequest Issuer, IssRequired, RedirectURL = %q, %t, %q", ar.Issuer, ar.IssRequired, ar.RedirectURL)
	}
	if got, want := ar.Scopes, c.Scopes; !slices.Equal(got, want) {
		t.Errorf("Scopes = %q, want %q", got, want)
	}
	if got, want := ar.Created, clock.Now(); !got.Equal(want) {
		t.Errorf("Created = %v, want %v", got, want)
	}

	t.Run("fresh values each time", func(t *testing.T) {
		other, err := c.NewAuthRequest(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if other.State == ar.State || other.Nonce == ar.Nonce || other.Verifier.Equal(ar.Verifier) {
			t.Error("two requests share a state, nonce or verifier")
		}
	})
	t.Run("no nonce without openid", func(t *testing.T) {
		plain, err := c.NewAuthRequest(context.Background(), pixie.Scopes("repo"))
		if err != nil {
			t.Fatal(err)
		}
		if plain.Nonce != "" || strings.Contains(plain.URL, "nonce=") {
			t.Errorf("Nonce = %q, URL = %q; want no nonce for a non-OpenID request", plain.Nonce, plain.URL)
		}
	})
	if got := len(srv.requests("/authorize")); got != 0 {
		t.Errorf("NewAuthRequest made %d requests, want 0", got)
	}
}

func TestNewAuthRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *pixie.Config)
		opts   []pixie.Option
		want   string
	}{
		{"no client ID", func(c *pixie.Config) { c.ClientID = "" }, nil, "client ID"},
		{"relative redirect", func(c *pixie.Config) { c.RedirectURL = "/callback" }, nil, "redirect URL"},
		{"redirect with fragment", func(c *pixie.Config) { c.RedirectURL = "https://app.example/cb#x" }, nil, "fragment"},
		{"no authorization endpoint", func(c *pixie.Config) { c.Endpoint.AuthURL = "" }, nil, "authorization endpoint"},
		{"http authorization endpoint", func(c *pixie.Config) { c.Endpoint.AuthURL = "http://auth.example.com/authorize" }, nil, "https"},
		{"reserved Param", nil, []pixie.Option{pixie.Param("state", "mine")}, `"state"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(newAuthServer(t, replyToken))
			if tt.change != nil {
				tt.change(c)
			}
			_, err := c.NewAuthRequest(context.Background(), tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseCallback(t *testing.T) {
	const issuer = "https://auth.example.com"
	ar := &pixie.AuthRequest{State: "expected-state", Issuer: issuer}
	required := &pixie.AuthRequest{State: "expected-state", Issuer: issuer, IssRequired: true}
	tests := []struct {
		name     string
		ar       *pixie.AuthRequest
		query    string
		wantCode string
		wantErr  error
	}{
		{"good", ar, "code=c0de&state=expected-state", "c0de", nil},
		{"good with iss not required", ar, "code=c0de&state=expected-state&iss=" + url.QueryEscape(issuer), "c0de", nil},
		{"good with iss required", required, "code=c0de&state=expected-state&iss=" + url.QueryEscape(issuer), "c0de", nil},
		{"wrong state", ar, "code=c0de&state=other-state", "", pixie.ErrStateMismatch},
		{"state prefix", ar, "code=c0de&state=expected", "", pixie.ErrStateMismatch},
		{"missing state", ar, "code=c0de", "", pixie.ErrStateMismatch},
		{"error with wrong state", ar, "error=access_denied&state=x", "", pixie.ErrStateMismatch},
		{"iss mismatch", ar, "code=c0de&state=expected-state&iss=https%3A%2F%2Fevil.example", "", pixie.ErrIssuerMismatch},
		{"iss repeated", ar, "code=c0de&state=expected-state&iss=" + url.QueryEscape(issuer) + "&iss=https%3A%2F%2Fevil.example", "", pixie.ErrIssuerMismatch},
		{"iss without an expected issuer", &pixie.AuthRequest{State: "expected-state"}, "code=c0de&state=expected-state&iss=" + url.QueryEscape(issuer), "", pixie.ErrIssuerMismatch},
		{"iss missing when required", required, "code=c0de&state=expected-state", "", pixie.ErrIssuerMismatch},
		{"error response", ar, "error=access_denied&error_description=The+user+said+no&state=expected-state", "", pixie.ErrAccessDenied},
		{"no code", ar, "state=expected-state", "", pixie.ErrNoCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			code, err := tt.ar.ParseCallback(q)
			if got := code; got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}

	t.Run("error response fields", func(t *testing.T) {
		_, err := ar.ParseCallback(url.Values{
			"state": {"expected-state"}, "error": {"access_denied"},
			"error_description": {"The user said no"}, "error_uri": {"https://auth.example.com/help"},
		})
		e := asError(t, err)
		if e.Op != "authorization" || e.Description != "The user said no" || e.URI != "https://auth.example.com/help" {
			t.Errorf("error = %+v, want Op authorization with the description and URI", *e)
		}
		if !pixie.LoginRequired(err) || pixie.Temporary(err) {
			t.Errorf("access_denied: LoginRequired = %t, Temporary = %t; want true, false", pixie.LoginRequired(err), pixie.Temporary(err))
		}
	})
}

// FuzzParseCallback checks that ParseCallback never panics and accepts a
// response only when its state is the request's.
func FuzzParseCallback(f *testing.F) {
	for _, seed := range []string{
		"code=c0de&state=expected-state",
		"code=c0de&state=expected-state&iss=https%3A%2F%2Fauth.example.com",
		"error=access_denied&state=expected-state",
		"code=c0de&state=expected-stat",
		"state=&code=",
		"code=a&code=b&state=expected-state&state=x",
		"%zz&state=expected-state",
	} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, rawQuery string, issRequired bool) {
		q, _ := url.ParseQuery(rawQuery)
		ar := &pixie.AuthRequest{State: "expected-state", Issuer: "https://auth.example.com", IssRequired: issRequired}
		code, err := ar.ParseCallback(q)
		if err != nil {
			if code != "" {
				t.Errorf("ParseCallback returned code %q with error %v", code, err)
			}
			return
		}
		if q.Get("state") != ar.State {
			t.Errorf("accepted state %q, want %q", q.Get("state"), ar.State)
		}
		if code == "" || q.Get("error") != "" {
			t.Errorf("accepted code %q with error %q", code, q.Get("error"))
		}
		if iss, ok := q["iss"]; (ok && iss[0] != ar.Issuer) || (!ok && issRequired) {
			t.Errorf("accepted iss %q", iss)
		}
	})
}

func TestExchange(t *testing.T) {
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	ar, err := c.NewAuthRequest(context.Background(), pixie.Scopes("read", "write"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Exchange(context.Background(), ar, "the-code", pixie.Resource("https://api.example.com/"))
	if err != nil {
		t.Fatal(err)
	}
	req := srv.only(t, "/token")
	checkForm(t, req.Form, map[string]string{
		"grant_type":    "authorization_code",
		"code":          "the-code",
		"code_verifier": ar.Verifier.Reveal(),
		"redirect_uri":  c.RedirectURL,
		"resource":      "https://api.example.com/",
	})
	checkAbsent(t, req.Form, "scope", "state")
	if got, want := pixie.S256Challenge(pixie.NewSecret(req.Form.Get("code_verifier"))), mustQuery(t, ar.URL).Get("code_challenge"); got != want {
		t.Errorf("the verifier sent hashes to %q, want the URL's challenge %q", got, want)
	}
	wantToken(t, tok, nil, testAccessToken, "Bearer", []string{"read", "write"})

	t.Run("empty code", func(t *testing.T) {
		if _, err := c.Exchange(context.Background(), ar, ""); !errors.Is(err, pixie.ErrNoCode) {
			t.Errorf("err = %v, want ErrNoCode", err)
		}
	})
	t.Run("nil request", func(t *testing.T) {
		if _, err := c.Exchange(context.Background(), nil, "code"); err == nil {
			t.Error("Exchange: err = nil, want an error")
		}
		if _, err := c.HandleCallback(context.Background(), nil, url.Values{"code": {"c"}}); err == nil {
			t.Error("HandleCallback: err = nil, want an error")
		}
	})
}

// TestExchangeSendsCodeOnce checks that a code is resent only when the server
// certainly did not act on it.
func TestExchangeSendsCodeOnce(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
				replyJSON(w, status, `{"error":"server_error"}`)
			})
			c := testConfig(srv)
			_, err := c.Exchange(context.Background(), &pixie.AuthRequest{Verifier: pixie.NewVerifier()}, "the-code")
			if !pixie.Temporary(err) {
				t.Errorf("err = %v, want a temporary error", err)
			}
			if got, want := len(srv.requests("/token")), 1; got != want {
				t.Errorf("server received %d requests, want %d", got, want)
			}
			checkNoSecrets(t, err, "the-code")
		})
	}
	t.Run("429 is retried", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, r seenRequest) {
			if r.N == 1 {
				replyJSON(w, http.StatusTooManyRequests, `{"error":"slow down"}`)
				return
			}
			replyToken(w, r)
		})
		c := testConfig(srv)
		if _, err := c.Exchange(context.Background(), &pixie.AuthRequest{Verifier: pixie.NewVerifier()}, "the-code"); err != nil {
			t.Fatal(err)
		}
		reqs := srv.requests("/token")
		if got, want := len(reqs), 2; got != want {
			t.Fatalf("server received %d requests, want %d", got, want)
		}
		checkForm(t, reqs[1].Form, map[string]string{"code": "the-code"})
	})
	t.Run("invalid_grant", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"code already used"}`)
		})
		_, err := testConfig(srv).Exchange(context.Background(), &pixie.AuthRequest{Verifier: pixie.NewVerifier()}, "the-code")
		if !errors.Is(err, pixie.ErrInvalidGrant) || !pixie.LoginRequired(err) {
			t.Errorf("err = %v, want invalid_grant with LoginRequired", err)
		}
		checkNoSecrets(t, err, "the-code")
	})
}

func TestHandleCallback(t *testing.T) {
	srv := newAuthServer(t, replyToken)
	c := testConfig(srv)
	ar, err := c.NewAuthRequest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("forged state sends nothing", func(t *testing.T) {
		_, err := c.HandleCallback(context.Background(), ar, url.Values{"code": {"c"}, "state": {"forged"}})
		if !errors.Is(err, pixie.ErrStateMismatch) {
			t.Errorf("err = %v, want ErrStateMismatch", err)
		}
		if got := len(srv.requests("/token")); got != 0 {
			t.Errorf("server received %d requests, want 0", got)
		}
	})
	t.Run("good", func(t *testing.T) {
		tok, err := c.HandleCallback(context.Background(), ar, url.Values{
			"code": {"c0de"}, "state": {ar.State}, "iss": {srv.URL},
		})
		if err != nil {
			t.Fatal(err)
		}
		wantToken(t, tok, nil, testAccessToken, "Bearer", []string{"read", "write"})
		checkForm(t, srv.only(t, "/token").Form, map[string]string{"code": "c0de", "code_verifier": ar.Verifier.Reveal()})
	})
}

// mustQuery returns the query of rawURL.
func mustQuery(tb testing.TB, rawURL string) url.Values {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Query()
}
