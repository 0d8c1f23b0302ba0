package pixie

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// Transport is an http.RoundTripper that authorizes each request with a token
// from Source (RFC 6750 section 2.1). The request is cloned, never modified.
//
// When the resource server answers 401 with WWW-Authenticate error="invalid_token"
// (RFC 6750 section 3.1), Transport renews the token once and replays the request,
// if Source is a *Source and the body can be replayed (it is empty, or
// Request.GetBody is set, as for bytes and strings readers). If the renewal fails,
// RoundTrip returns its error (for which [LoginRequired] tells whether the user
// must log in again) instead of the 401. A redirect to another host, or from
// https to plain http, is sent without the token.
//
// A DPoP-bound token (token type DPoP, RFC 9449) is sent with a proof made by
// DPoP, which must hold the key the token is bound to; a 401 asking for a DPoP
// nonce (section 9) is answered by replaying the request once with it.
type Transport struct {
	// Source supplies the tokens.
	Source TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// DPoP proves possession of the key DPoP-bound tokens are bound to. It is
	// needed only for such tokens.
	DPoP DPoPProver
	// Login, when set, logs the user in when the resource server asks for a
	// token Transport cannot give, and must leave the new token in Source
	// (with [Source.Put] for a *Source). It is called with the challenge and
	// the scopes to ask for:
	//
	//   - when Source has no token (its error satisfies [LoginRequired]), the
	//     request is sent without one; if the answer is a 401 whose challenge
	//     names the resource's metadata (resource_metadata, RFC 9728 section
	//     5.1), Login gets the scopes of the challenge, if any;
	//   - when the answer is a 403 with error="insufficient_scope" and a scope
	//     the token lacks (RFC 6750 section 3.1), Login gets the union of the
	//     token's scopes and the challenge's: a step-up.
	//
	// The request is then sent once more with Source's token, if its body can
	// be replayed. Concurrent requests that need the same login share one call.
	// If Login fails, RoundTrip returns its error.
	Login func(ctx context.Context, ch *Challenge, scopes []string) error

	logins singleflight.Group
}

// NewClient returns an *http.Client whose requests carry tokens from src.
func NewClient(src TokenSource) *http.Client {
	return &http.Client{Transport: &Transport{Source: src}}
}

// renewer is implemented by *Source: renew after a resource server rejected tok.
type renewer interface {
	renewAfterReject(ctx context.Context, tok *Token) (*Token, error)
}

// authorizer is implemented by *Source, which keeps the header value of the token
// it holds.
type authorizer interface {
	authorization(tok *Token) string
}

// authorization returns tok's Authorization header value (RFC 6750 section 2.1).
func authorization(tok *Token) string { return tok.Type() + " " + tok.AccessToken.Reveal() }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if redirectedElsewhere(req) {
		return t.base().RoundTrip(req)
	}
	if t.Source == nil {
		closeBody(req)
		return nil, errors.New("pixie: Transport has no Source")
	}
	ctx := req.Context()
	tok, err := t.Source.Token(ctx)
	if err != nil {
		if t.Login != nil && LoginRequired(err) && replayable(req) {
			return t.withoutToken(req)
		}
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, tok)
	if err != nil || !replayable(req) {
		return resp, err
	}
	if resp.StatusCode == http.StatusForbidden && t.Login != nil {
		return t.stepUp(req, resp, tok)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	switch {
	case tok.Type() == "DPoP" && challengeError(resp.Header, "use_dpop_nonce"):
		// send recorded the nonce the server gave (RFC 9449 section 9).
		return t.replay(req, resp, tok)
	case challengeError(resp.Header, "invalid_token"):
		r, ok := t.Source.(renewer)
		if !ok {
			return resp, nil
		}
		fresh, err := r.renewAfterReject(ctx, tok)
		if err != nil {
			discard(resp)
			closeBody(req)
			return nil, fmt.Errorf("pixie: %s rejected the token (invalid_token) and renewing it failed: %w", req.URL.Host, err)
		}
		return t.replay(req, resp, fresh)
	}
	return resp, nil
}

// replayable reports whether req's body, if any, can be sent again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// withoutToken sends req without a token, Source having none, and logs in when
// the answer is a 401 naming the resource's metadata (RFC 9728 section 5.1).
func (t *Transport) withoutToken(req *http.Request) (*http.Response, error) {
	resp, err := t.base().RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	ch := findChallenge(resp.Header, func(c *Challenge) bool { return c.ResourceMetadata != "" })
	if ch == nil {
		return resp, nil
	}
	return t.loginAndReplay(req, resp, ch, ch.Scope)
}

// stepUp answers a 403 insufficient_scope naming scopes tok lacks (RFC 6750
// section 3.1) by logging in for the union of both, then replaying req once.
func (t *Transport) stepUp(req *http.Request, resp *http.Response, tok *Token) (*http.Response, error) {
	ch := findChallenge(resp.Header, func(c *Challenge) bool { return c.Error == "insufficient_scope" })
	if ch == nil {
		return resp, nil
	}
	scopes := slices.Clone(tok.Scope)
	for _, s := range ch.Scope {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if len(scopes) == len(tok.Scope) {
		// The token has every scope named: another login would not help.
		return resp, nil
	}
	return t.loginAndReplay(req, resp, ch, scopes)
}

// loginAndReplay runs Login (one call for concurrent requests asking for the
// same scopes), then replays req with Source's new token.
func (t *Transport) loginAndReplay(req *http.Request, resp *http.Response, ch *Challenge, scopes []string) (*http.Response, error) {
	ctx := req.Context()
	_, err, _ := t.logins.Do(strings.Join(scopes, " "), func() (any, error) {
		return nil, t.Login(ctx, ch, scopes)
	})
	var tok *Token
	if err == nil {
		tok, err = t.Source.Token(ctx)
	}
	if err != nil {
		discard(resp)
		closeBody(req)
		return nil, fmt.Errorf("pixie: %s asked for a login (HTTP %d) and it failed: %w", req.URL.Host, resp.StatusCode, err)
	}
	return t.replay(req, resp, tok)
}

// replay sends req again with tok, after the response rejected that gave, and
// returns rejected if the body cannot be read again.
func (t *Transport) replay(req *http.Request, rejected *http.Response, tok *Token) (*http.Response, error) {
	again := req
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return rejected, nil
		}
		again = req.Clone(req.Context())
		again.Body = body
	}
	discard(rejected)
	return t.send(again, tok)
}

// send sends a clone of req carrying tok, with a DPoP proof for a DPoP-bound
// token, and records a DPoP-Nonce the server returns.
func (t *Transport) send(req *http.Request, tok *Token) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", t.header(tok))
	if tok.Type() == "DPoP" {
		if t.DPoP == nil {
			closeBody(req)
			return nil, errors.New("pixie: the token is DPoP-bound (RFC 9449); set Transport.DPoP to the key it is bound to")
		}
		proof, err := t.DPoP.Proof(r.Method, r.URL.String(), tok.AccessToken.Reveal())
		if err != nil {
			closeBody(req)
			return nil, fmt.Errorf("pixie: DPoP proof: %w", err)
		}
		r.Header.Set("DPoP", proof)
	}
	resp, err := t.base().RoundTrip(r)
	if err == nil && t.DPoP != nil {
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			t.DPoP.SetNonce(r.URL.String(), n)
		}
	}
	return resp, err
}

// discard reads a little of a response body, so the connection can be reused,
// and closes it.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

func (t *Transport) header(tok *Token) string {
	if a, ok := t.Source.(authorizer); ok {
		return a.authorization(tok)
	}
	return authorization(tok)
}

// redirectedElsewhere reports whether req follows a redirect to a host other than
// the one the first request of the chain went to, or from https down to plain
// http, where the token would cross the network in clear text (RFC 6750 section
// 5.3).
func redirectedElsewhere(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if first == req {
		return false
	}
	downgraded := strings.EqualFold(first.URL.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https")
	return downgraded || !strings.EqualFold(first.URL.Host, req.URL.Host)
}

// challengeError reports whether a response has a Bearer or DPoP challenge
// whose error parameter is code (RFC 6750 section 3.1, RFC 9449 sections 7.1
// and 9), such as invalid_token or use_dpop_nonce.
func challengeError(h http.Header, code string) bool {
	return findChallenge(h, func(c *Challenge) bool { return c.Error == code }) != nil
}

// findChallenge returns the first Bearer or DPoP challenge of h for which ok
// is true, or nil.
func findChallenge(h http.Header, ok func(*Challenge) bool) *Challenge {
	for _, c := range Challenges(h) {
		if ok(&c) {
			return &c
		}
	}
	return nil
}

// authParams calls fn with every auth-param of the challenges in v, a
// WWW-Authenticate field value (RFC 9110 section 11.6.1): a comma-separated list
// of challenges, each a scheme followed by a token68 or by name=value
// parameters, whose values are tokens or quoted strings. Quoted values are
// unescaped; a token68 is skipped. Each challenge starts with a call whose
// name and value are empty.
func authParams(v string, fn func(scheme, name, value string)) {
	scheme, afterScheme := "", false
	for i := 0; ; {
		i = skipSpace(v, i)
		for i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
			afterScheme = false
		}
		if i >= len(v) {
			return
		}
		tok, j := token(v, i)
		if tok == "" {
			i = skipItem(v, i)
			continue
		}
		if k := skipSpace(v, j); k < len(v) && v[k] == '=' {
			var value string
			value, i = paramValue(v, skipSpace(v, k+1))
			fn(scheme, tok, value)
			continue
		}
		if afterScheme { // a token68 credential-like value: skip it
			i = skipItem(v, j)
			continue
		}
		scheme, afterScheme, i = tok, true, j
		fn(scheme, "", "")
	}
}

// token returns the token (RFC 9110 section 5.6.2) starting at v[i], and the
// index after it.
func token(v string, i int) (string, int) {
	j := i
	for j < len(v) && isTchar(v[j]) {
		j++
	}
	return v[i:j], j
}

func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// paramValue returns the token or quoted string (unescaped) starting at v[i],
// and the index after it.
func paramValue(v string, i int) (string, int) {
	if i >= len(v) || v[i] != '"' {
		return token(v, i)
	}
	var b strings.Builder
	for i++; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return b.String(), i + 1
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), i
}

// skipItem returns the index of the next comma at or after v[i] that is not
// inside a quoted string, or len(v).
func skipItem(v string, i int) int {
	for ; i < len(v) && v[i] != ','; i++ {
		if v[i] == '"' {
			_, i = paramValue(v, i)
			i--
		}
	}
	return i
}

func skipSpace(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// OAuth2 adapts src to golang.org/x/oauth2's TokenSource, for SDKs that take one.
// Its Token method has no context, so it uses context.Background. Like x/oauth2's
// own sources it returns the same *oauth2.Token until the token changes, which
// callers must not modify.
func OAuth2(src TokenSource) oauth2.TokenSource { return &oauth2Adapter{src: src} }

type oauth2Adapter struct {
	src  TokenSource
	last atomic.Pointer[converted]
}

// converted is a token and its x/oauth2 form.
type converted struct {
	from *Token
	to   *oauth2.Token
}

func (a *oauth2Adapter) Token() (*oauth2.Token, error) {
	tok, err := a.src.Token(context.Background())
	if err != nil {
		return nil, err
	}
	if c := a.last.Load(); c != nil && c.from == tok {
		return c.to, nil
	}
	c := &converted{from: tok, to: tok.OAuth2()}
	a.last.Store(c)
	return c.to, nil
}

// FromOAuth2 adapts a golang.org/x/oauth2 TokenSource to pixie's. The context is
// not passed on: x/oauth2 sources take none.
func FromOAuth2(ts oauth2.TokenSource) TokenSource { return fromOAuth2{ts} }

type fromOAuth2 struct{ ts oauth2.TokenSource }

func (f fromOAuth2) Token(ctx context.Context) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, err := f.ts.Token()
	if err != nil {
		return nil, err
	}
	return TokenFromOAuth2(o), nil
}
