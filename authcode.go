package pixie

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/pixieauth/pixie/internal/wire"
)

// Errors of the authorization response, before any token request is made.
var (
	// ErrStateMismatch means the callback's state is missing or is not the one
	// this client sent: the response may be forged (RFC 6749 section 10.12).
	ErrStateMismatch = errors.New("pixie: authorization response state does not match the request; start the login again")
	// ErrIssuerMismatch means the callback's iss is missing where the server
	// promised it, or names another server: a mix-up attack (RFC 9207 section 2.4).
	ErrIssuerMismatch = errors.New("pixie: authorization response iss does not match the expected issuer")
	// ErrNoCode means the callback carried neither a code nor an error.
	ErrNoCode = errors.New("pixie: authorization response has no code")
)

var errNoAuthRequest = errors.New("pixie: no authorization request; keep the *AuthRequest from NewAuthRequest until the callback")

// AuthRequest is an authorization request in flight (RFC 6749 section 4.1.1): the
// URL to send the user to, and the values needed to check the response and redeem
// the code. Keep it on the server side (or in the CLI process) between the
// redirect and the callback; never put the verifier in a cookie or URL.
type AuthRequest struct {
	// URL is the authorization URL to open in the user's browser.
	URL string
	// State binds the callback to this request (RFC 6749 section 10.12): 256
	// bits from crypto/rand.
	State string
	// Verifier is the PKCE code verifier (RFC 7636); its S256 challenge is in URL.
	Verifier Secret
	// Nonce is the OpenID Connect nonce, set when the scopes include "openid".
	// Pass it to the oidc package's ID token verification.
	Nonce string
	// RedirectURL is the redirect_uri sent, which the code exchange repeats.
	RedirectURL string
	// Issuer is the expected iss of the response (RFC 9207); IssRequired is set
	// when the server advertised authorization_response_iss_parameter_supported.
	Issuer      string
	IssRequired bool
	// Scopes are the scopes requested.
	Scopes []string
	// Created is when the request was made, so that stale requests can be
	// dropped.
	Created time.Time
}

// NewAuthRequest starts an authorization code flow (RFC 6749 section 4.1) with
// PKCE S256 (RFC 7636), which pixie always uses: it makes a fresh state, verifier
// and, for OpenID Connect, nonce, and returns the authorization URL holding them.
// [Scopes], [Prompt], [LoginHint], [Resource] and [Param] adjust the URL;
// [Quirks.AuthParams] of the endpoint are added. With [Config.UsePAR], or when
// the server requires it, the parameters are pushed to its PAR endpoint first
// (RFC 9126) and the URL carries only client_id and request_uri; with
// [Config.DPoP] the request carries dpop_jkt (RFC 9449 section 10).
func (c *Config) NewAuthRequest(ctx context.Context, opts ...Option) (*AuthRequest, error) {
	if err := wire.CheckURL(c.Endpoint.AuthURL, c.AllowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("pixie: authorization endpoint: %w", err)
	}
	if c.ClientID == "" {
		return nil, errors.New("pixie: no client ID configured")
	}
	if c.RedirectURL != "" {
		if u, err := url.Parse(c.RedirectURL); err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, fmt.Errorf("pixie: redirect URL %q must be absolute and without a fragment (RFC 6749 section 3.1.2)", c.RedirectURL)
		}
	}
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	ar := &AuthRequest{
		State:       wire.RandomString(32),
		Verifier:    NewVerifier(),
		RedirectURL: c.RedirectURL,
		Issuer:      c.Endpoint.Issuer,
		IssRequired: c.Endpoint.IssParameterSupported,
		Scopes:      slices.Clone(p.scopes),
		Created:     c.now(),
	}
	if slices.Contains(p.scopes, "openid") {
		ar.Nonce = wire.RandomString(32)
	}
	u, _ := url.Parse(c.Endpoint.AuthURL) // checked above
	q := u.Query()
	for k, v := range c.Endpoint.Quirks.AuthParams {
		q.Set(k, v)
	}
	for k, v := range p.values {
		q[k] = v
	}
	q.Set("response_type", "code")
	q.Set("client_id", c.ClientID)
	if ar.RedirectURL != "" {
		q.Set("redirect_uri", ar.RedirectURL)
	}
	if len(p.scopes) > 0 {
		q.Set("scope", c.scope(p.scopes))
	}
	q.Set("state", ar.State)
	q.Set("code_challenge", S256Challenge(ar.Verifier))
	q.Set("code_challenge_method", "S256")
	if ar.Nonce != "" {
		q.Set("nonce", ar.Nonce)
	}
	if c.DPoP != nil {
		// RFC 9449 section 10: bind the code to the key.
		q.Set("dpop_jkt", c.DPoP.Thumbprint())
	}
	if c.UsePAR || c.Endpoint.RequirePAR {
		uri, err := c.pushAuthRequest(ctx, q)
		if err != nil {
			return nil, err
		}
		q = u.Query()
		q.Set("client_id", c.ClientID)
		q.Set("request_uri", uri)
	}
	u.RawQuery = q.Encode()
	ar.URL = u.String()
	return ar, nil
}

// pushAuthRequest sends the authorization request's parameters to the PAR
// endpoint, authenticating the client, and returns the request_uri that stands
// for them (RFC 9126 section 2).
func (c *Config) pushAuthRequest(ctx context.Context, params url.Values) (string, error) {
	if c.Endpoint.PARURL == "" {
		return "", &Error{Op: opPAR, Err: errors.New("no pushed_authorization_request_endpoint configured, and the request must be pushed")}
	}
	// The body holds every authorization request parameter, client_id included
	// (RFC 9126 section 2.1), beside the client's authentication.
	resp, err := c.post(ctx, opPAR, c.Endpoint.PARURL, params, false)
	if err != nil {
		return "", err
	}
	o, err := wire.DecodeObject(resp.Header.Get("Content-Type"), resp.Body, opPAR)
	if err == nil {
		uri := o.String("request_uri")
		if err = o.Err(); err == nil && uri == "" {
			err = errors.New("the response has no request_uri (RFC 9126 section 2.2)")
		}
		if err == nil {
			return uri, nil
		}
	}
	return "", &Error{Op: opPAR, StatusCode: resp.StatusCode, Err: err}
}

// ParseCallback checks the authorization response that the server redirected to
// the client with (RFC 6749 section 4.1.2) and returns its code. In order it
// checks: state, compared in constant time ([ErrStateMismatch]); iss, which must
// equal Issuer when present and must be present when IssRequired (RFC 9207
// section 2.4, [ErrIssuerMismatch]); an error response (RFC 6749 section
// 4.1.2.1), returned as *Error with Op "authorization", for example
// [ErrAccessDenied]; and finally the code ([ErrNoCode]).
func (ar *AuthRequest) ParseCallback(query url.Values) (string, error) {
	if ar == nil {
		return "", errNoAuthRequest
	}
	state := query.Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(ar.State)) != 1 {
		return "", ErrStateMismatch
	}
	if iss, ok := query["iss"]; ok {
		if ar.Issuer == "" || len(iss) != 1 || iss[0] != ar.Issuer {
			return "", fmt.Errorf("%w: got %q, want %q", ErrIssuerMismatch, query.Get("iss"), ar.Issuer)
		}
	} else if ar.IssRequired {
		return "", fmt.Errorf("%w: the server advertises the iss parameter but the response has none", ErrIssuerMismatch)
	}
	if code := query.Get("error"); code != "" {
		return "", &Error{Op: "authorization", Code: code,
			Description: query.Get("error_description"), URI: query.Get("error_uri")}
	}
	code := query.Get("code")
	if code == "" {
		return "", ErrNoCode
	}
	return code, nil
}

// Exchange redeems an authorization code for a token (RFC 6749 section 4.1.3),
// sending the PKCE verifier and the redirect_uri of ar. The code is sent once: the
// request is repeated only if the server certainly did not receive it, since a
// code is single use and a server may revoke the tokens of a reused code.
//
// When the token carries an ID token, verify it with the oidc package, passing
// ar.Nonce.
func (c *Config) Exchange(ctx context.Context, ar *AuthRequest, code string, opts ...Option) (*Token, error) {
	if ar == nil {
		return nil, errNoAuthRequest
	}
	if code == "" {
		return nil, ErrNoCode
	}
	p, err := c.collect(opts)
	if err != nil {
		return nil, err
	}
	p.scopes = nil // the code already carries the granted scope
	form := c.grantForm("authorization_code", p)
	form.Set("code", code)
	form.Set("code_verifier", ar.Verifier.Reveal())
	if ar.RedirectURL != "" {
		form.Set("redirect_uri", ar.RedirectURL)
	}
	return c.token(ctx, form, ar.Scopes, true)
}

// HandleCallback is [AuthRequest.ParseCallback] followed by [Config.Exchange]: it
// checks the authorization response in query and redeems its code.
func (c *Config) HandleCallback(ctx context.Context, ar *AuthRequest, query url.Values) (*Token, error) {
	code, err := ar.ParseCallback(query)
	if err != nil {
		return nil, err
	}
	return c.Exchange(ctx, ar, code)
}
