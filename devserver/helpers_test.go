package devserver_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
	"golang.org/x/oauth2"
)

// newClock returns a settable clock at the current time.
func newClock() *fakeclock.Clock { return fakeclock.New(time.Now()) }

// withClock makes the server use c.
func withClock(c *fakeclock.Clock) devservertest.Option {
	return func(o *devserver.Options) { o.Now = c.Now }
}

// response is a decoded endpoint response.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r *response) str(key string) string { s, _ := r.body[key].(string); return s }

// call sends a request and decodes a JSON answer.
func call(t testing.TB, srv *devservertest.Server, req *http.Request) *response {
	t.Helper()
	return send(t, srv.HTTPClient(), req)
}

// send sends req with client and decodes a JSON answer.
func send(t testing.TB, client *http.Client, req *http.Request) *response {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &response{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return r
}

// post sends form to path; with a client, it adds the client's authentication
// for the methods that need no signing: basic, post, or client_id for public ones.
func post(t testing.TB, srv *devservertest.Server, path string, c *devserver.Client, form url.Values, header ...string) *response {
	t.Helper()
	form = cloneForm(form)
	if c != nil {
		switch c.AuthMethod {
		case "client_secret_post":
			form.Set("client_id", c.ID)
			form.Set("client_secret", c.Secret.Reveal())
		case "none":
			form.Set("client_id", c.ID)
		}
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c != nil && c.AuthMethod == "client_secret_basic" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret.Reveal()))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return call(t, srv, req)
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// wantError checks an RFC 6749 section 5.2 error response.
func wantError(t testing.TB, r *response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Fatalf("got HTTP %d %s, want HTTP %d with error %s", r.status, r.raw, status, code)
	}
	if got, want := r.header.Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
}

// wantOK checks a successful JSON response.
func wantOK(t testing.TB, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("got HTTP %d %s, want %d", r.status, r.raw, status)
	}
}

// authURL returns an authorization request URL for client c with PKCE S256,
// state "xyz" and the given extra parameters, and the verifier.
func authURL(srv *devservertest.Server, c devserver.Client, extra url.Values) (string, string) {
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {devservertest.RedirectURL},
		"state":                 {"xyz"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return srv.URL + "/authorize?" + q.Encode(), verifier
}

// authorize runs the authorization request through the browser helper and
// returns the code and verifier.
func authorize(t testing.TB, srv *devservertest.Server, c devserver.Client, extra url.Values) (code, verifier string) {
	t.Helper()
	u, verifier := authURL(srv, c, extra)
	cb := srv.Authorize(t, u)
	if cb.Query().Get("code") == "" {
		t.Fatalf("callback %s has no code", cb)
	}
	return cb.Query().Get("code"), verifier
}

// codeTokens runs the authorization code grant for c and returns the response.
func codeTokens(t testing.TB, srv *devservertest.Server, c devserver.Client, extra url.Values) *response {
	t.Helper()
	code, verifier := authorize(t, srv, c, extra)
	r := post(t, srv, "/token", &c, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {verifier}, "redirect_uri": {devservertest.RedirectURL}})
	wantOK(t, r, http.StatusOK)
	return r
}

// introspect reports whether token is active, asking as the confidential client.
func active(t testing.TB, srv *devservertest.Server, token string) bool {
	t.Helper()
	r := post(t, srv, "/introspect", &srv.Confidential, url.Values{"token": {token}})
	wantOK(t, r, http.StatusOK)
	return r.body["active"] == true
}

// sign returns a compact JWT of claims signed with key (a *ecdsa.PrivateKey or
// a []byte HMAC secret) and the given header type and extra headers.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, claims any, opts *jose.SignerOptions) string {
	t.Helper()
	if opts == nil {
		opts = &jose.SignerOptions{}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertion returns a private_key_jwt client assertion for the key client.
func assertion(t testing.TB, srv *devservertest.Server, claims map[string]any) string {
	t.Helper()
	base := map[string]any{"iss": srv.KeyClient.ID, "sub": srv.KeyClient.ID, "aud": srv.URL + "/token",
		"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(), "jti": rand.Text()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	return sign(t, jose.ES256, srv.ClientKey, base, (&jose.SignerOptions{}).WithHeader("kid", srv.ClientKeyID))
}

// dpopKey is a DPoP key pair and its thumbprint.
type dpopKey struct {
	key *ecdsa.PrivateKey
	jkt string
}

func newDPoPKey(t testing.TB) *dpopKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &k.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopKey{key: k, jkt: b64(tp)}
}

// proof returns a DPoP proof for method and URL, with claims overridden by extra
// (a nil value deletes the claim).
func (k *dpopKey) proof(t testing.TB, method, u string, extra map[string]any) string {
	t.Helper()
	c := map[string]any{"jti": rand.Text(), "htm": method, "htu": u, "iat": time.Now().Unix()}
	for key, v := range extra {
		if v == nil {
			delete(c, key)
		} else {
			c[key] = v
		}
	}
	return sign(t, jose.ES256, k.key, c, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
}

// claims decodes a JWT's claims without verifying it.
func claims(t testing.TB, token string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parsing JWT: %v", err)
	}
	var m map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// get sends a GET request to path.
func get(t testing.TB, srv *devservertest.Server, path string) *response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return call(t, srv, req)
}

// formOf builds a form from key, value pairs.
func formOf(kv ...string) url.Values {
	f := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func secret(s string) pixie.Secret { return pixie.NewSecret(s) }

// tab is a browser tab on the server's pages: it keeps cookies, does not follow
// redirects and sends the headers given to each request, such as the Origin
// and Sec-Fetch-Site a browser adds.
type tab struct {
	srv    *devservertest.Server
	client *http.Client
}

func newTab(t testing.TB, srv *devservertest.Server) *tab {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *srv.HTTPClient()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &tab{srv: srv, client: &c}
}

// get opens path (or an absolute URL on the server) with header pairs.
func (b *tab) get(t testing.TB, path string, header ...string) *response {
	t.Helper()
	return b.do(t, http.MethodGet, path, nil, header)
}

// post submits form to path with header pairs.
func (b *tab) post(t testing.TB, path string, form url.Values, header ...string) *response {
	t.Helper()
	return b.do(t, http.MethodPost, path, form, header)
}

func (b *tab) do(t testing.TB, method, path string, form url.Values, header []string) *response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+strings.TrimPrefix(path, b.srv.URL), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			// As a proxy in front of the server would; the client's jar
			// keys cookies by that host, so they are added here.
			req.Host = header[i+1]
			for _, c := range b.client.Jar.Cookies(req.URL) {
				req.AddCookie(c)
			}
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, b.client, req)
}

// hidden returns the value of a page's hidden input.
func hidden(r *response, name string) string {
	return between(r.raw, `name="`+name+`" value="`, `"`)
}
