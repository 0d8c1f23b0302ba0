package pixie

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/pixieauth/pixie/internal/wire"
)

// Option customises one request: an authorization URL or a token request. Options
// are made by [Scopes], [Resource], [Audience], [Prompt], [LoginHint] and [Param].
type Option interface {
	apply(*params)
}

type params struct {
	scopes    []string
	scopesSet bool
	values    url.Values
	err       error
}

type optionFunc func(*params)

func (f optionFunc) apply(p *params) { f(p) }

// Scopes requests these scopes instead of [Config.Scopes] (RFC 6749 section 3.3).
// On a refresh it narrows the grant to a subset of the original scopes (RFC 6749
// section 6).
func Scopes(scopes ...string) Option {
	return optionFunc(func(p *params) { p.scopes, p.scopesSet = scopes, true })
}

// Resource names a resource server the token is meant for, by absolute URI (RFC
// 8707 section 2). It may be given more than once; a resource already named (by
// [Config.Resources] too) is sent once.
func Resource(uri string) Option {
	return optionFunc(func(p *params) { p.addResource(uri) })
}

func (p *params) addResource(uri string) {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Fragment != "" {
		p.fail(fmt.Errorf("pixie: resource %q must be an absolute URI without a fragment (RFC 8707 section 2)", uri))
		return
	}
	if !slices.Contains(p.values["resource"], uri) {
		p.values.Add("resource", uri)
	}
}

// Audience names the logical service the token is for, as the audience parameter
// of a token exchange (RFC 8693 section 2.1) and several providers' client
// credentials grants.
func Audience(audience string) Option {
	return optionFunc(func(p *params) { p.values.Add("audience", audience) })
}

// Prompt sets the OpenID Connect prompt parameter of an authorization request:
// "none", "login", "consent", "select_account" or a space-separated combination
// (OpenID Connect Core section 3.1.2.1).
func Prompt(prompt string) Option { return Param("prompt", prompt) }

// LoginHint suggests the user to log in as (OpenID Connect Core section 3.1.2.1).
func LoginHint(hint string) Option { return Param("login_hint", hint) }

// Param sets an extra request parameter. Parameters that pixie manages itself
// (client credentials, grant_type, code, state, nonce, PKCE, redirect_uri,
// response_type, scope) cannot be set this way; use the dedicated options.
func Param(key, value string) Option {
	return optionFunc(func(p *params) {
		if slices.Contains(reservedParams, key) {
			p.fail(fmt.Errorf("pixie: parameter %q is set by pixie and cannot be passed with Param", key))
			return
		}
		p.values.Set(key, value)
	})
}

var reservedParams = []string{
	"grant_type", "code", "code_verifier", "code_challenge", "code_challenge_method",
	"client_id", "client_secret", "client_assertion", "client_assertion_type",
	"state", "nonce", "redirect_uri", "response_type", "scope", "refresh_token",
	"device_code", "request_uri", "assertion", "subject_token", "actor_token",
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// collect applies opts over the Config's defaults: its scopes and resources.
func (c *Config) collect(opts []Option) (*params, error) {
	p := &params{scopes: c.Scopes, values: url.Values{}}
	for _, r := range c.Resources {
		p.addResource(r)
	}
	for _, o := range opts {
		o.apply(p)
	}
	return p, p.err
}

// scope joins scopes with the server's separator (a space unless a quirk says
// otherwise).
func (c *Config) scope(scopes []string) string {
	sep := c.Endpoint.Quirks.ScopeSeparator
	if sep == "" {
		sep = " "
	}
	return strings.Join(scopes, sep)
}

// EffectiveAuthMethod returns the client authentication method requests will use:
// AuthMethod when set, otherwise the choice [AuthAuto] describes. It fails when
// the Config lacks what the method needs, or when the server's advertised methods
// leave nothing the Config can do.
func (c *Config) EffectiveAuthMethod() (AuthMethod, error) {
	hasSecret, hasKey := !c.ClientSecret.IsZero(), c.ClientKey != nil
	can := func(m AuthMethod) bool {
		switch m {
		case ClientSecretBasic, ClientSecretPost, ClientSecretJWT:
			return hasSecret
		case PrivateKeyJWT:
			return hasKey
		case AuthNone:
			return !hasSecret && !hasKey
		}
		return false
	}
	if m := c.AuthMethod; m != AuthAuto {
		switch m {
		case TLSClientAuth, SelfSignedTLSClientAuth:
			return m, nil
		case ClientSecretBasic, ClientSecretPost, ClientSecretJWT, PrivateKeyJWT, AuthNone:
			if m == AuthNone || can(m) {
				return m, nil
			}
			if m == PrivateKeyJWT {
				return "", errors.New("pixie: private_key_jwt needs Config.ClientKey")
			}
			return "", fmt.Errorf("pixie: %s needs Config.ClientSecret", m)
		}
		return "", fmt.Errorf("pixie: unknown client authentication method %q", m)
	}
	supported := c.Endpoint.AuthMethods
	if len(supported) == 0 {
		// RFC 8414 section 2: when the server lists no methods, the default is
		// client_secret_basic. A client with only a key can do nothing else.
		supported = []AuthMethod{ClientSecretBasic}
		if hasKey && !hasSecret {
			supported = []AuthMethod{PrivateKeyJWT}
		}
	}
	for _, m := range []AuthMethod{PrivateKeyJWT, ClientSecretBasic, ClientSecretPost, ClientSecretJWT, AuthNone} {
		if slices.Contains(supported, m) && can(m) {
			return m, nil
		}
	}
	if !hasSecret && !hasKey {
		// A public client against a server that lists no "none": still send
		// client_id and let the server decide.
		return AuthNone, nil
	}
	return "", fmt.Errorf("pixie: the server supports client authentication methods %v, and none fits this client (secret set: %t, key set: %t)", supported, hasSecret, hasKey)
}

// wireAuth is the client authentication for a request to endpointURL.
func (c *Config) wireAuth(endpointURL string) (wire.Auth, error) {
	m, err := c.EffectiveAuthMethod()
	if err != nil {
		return wire.Auth{}, err
	}
	aud := c.Endpoint.Issuer
	if aud == "" {
		aud = endpointURL
	}
	return wire.Auth{
		Method:   string(m),
		ClientID: c.ClientID,
		Secret:   c.ClientSecret.Reveal(),
		Key:      c.ClientKey,
		KeyID:    c.ClientKeyID,
		Audience: aud,
	}, nil
}

func (c *Config) wireClient() *wire.Client {
	return &wire.Client{
		HTTP:          c.HTTPClient,
		Header:        c.Endpoint.Quirks.Header,
		AllowInsecure: c.AllowInsecureHTTP,
		Retry:         wire.Retry(c.Retry),
		Now:           c.Now,
		Logger:        c.Logger,
	}
}

// post sends an authenticated form POST to endpointURL; op names the endpoint in
// errors. Failures are returned as *Error.
func (c *Config) post(ctx context.Context, op, endpointURL string, form url.Values, oneShot bool) (*wire.Response, error) {
	if endpointURL == "" {
		return nil, &Error{Op: op, Err: fmt.Errorf("no %s endpoint configured", op)}
	}
	auth, err := c.wireAuth(endpointURL)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	req := &wire.Request{Op: op, URL: endpointURL, Form: form, Auth: auth, OneShot: oneShot}
	if op == opToken || op == opPAR {
		// RFC 9449 sections 5 and 10.1: proofs go to the token and PAR
		// endpoints.
		req.DPoP = c.DPoP
	}
	resp, err := c.wireClient().Post(ctx, req)
	return resp, fromWire(err)
}

// Op names of the endpoints that take DPoP proofs.
const (
	opToken = "token"
	opPAR   = "pushed authorization request"
)

// fromWire converts a *wire.Error into the public *Error.
func fromWire(err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return err
	}
	return &Error{
		Op: we.Op, Code: we.Code, Description: we.Description, URI: we.URI,
		StatusCode: we.StatusCode, Body: we.Body, RetryAfter: we.RetryAfter, Err: we.Err,
	}
}

// token performs a token request (RFC 6749 section 3.2) with the grant parameters
// in form and returns the issued token. requested are the scopes asked for, which
// the token carries when the response omits scope (RFC 6749 section 5.1).
func (c *Config) token(ctx context.Context, form url.Values, requested []string, oneShot bool) (*Token, error) {
	resp, err := c.post(ctx, opToken, c.Endpoint.TokenURL, form, oneShot)
	if err != nil {
		return nil, err
	}
	return c.tokenFromResponse(resp, requested)
}

func (c *Config) tokenFromResponse(resp *wire.Response, requested []string) (*Token, error) {
	tr, err := wire.DecodeToken(resp.Header.Get("Content-Type"), resp.Body, c.Endpoint.Quirks.NestedTokenField)
	if err != nil {
		return nil, &Error{Op: opToken, StatusCode: resp.StatusCode, Err: err}
	}
	t := &Token{
		AccessToken:     NewSecret(tr.AccessToken),
		TokenType:       tr.TokenType,
		RefreshToken:    NewSecret(tr.RefreshToken),
		IDToken:         NewSecret(tr.IDToken),
		Scope:           tr.Scope,
		IssuedTokenType: tr.IssuedTokenType,
		Extra:           tr.Extra,
	}
	if t.TokenType == "" {
		t.TokenType = "Bearer"
	}
	if t.Scope == nil {
		t.Scope = slices.Clone(requested)
	}
	if tr.HasExpiresIn {
		t.Expiry = resp.Received.Add(tr.ExpiresIn)
		t.Lifetime = tr.ExpiresIn
	}
	return t, nil
}

// grantForm starts the form of a token request: grant_type plus the requested
// scope and the options' extra parameters.
func (c *Config) grantForm(grantType string, p *params) url.Values {
	form := url.Values{"grant_type": {grantType}}
	if len(p.scopes) > 0 {
		form.Set("scope", c.scope(p.scopes))
	}
	for k, v := range p.values {
		form[k] = v
	}
	return form
}
