package devserver

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pixieauth/pixie"
)

// clientAssertionType is the client_assertion_type of JWT client authentication
// (RFC 7523 section 2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

var (
	asymmetricAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	hmacAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
)

// clientRequest parses a client's POST to an endpoint that authenticates clients
// and authenticates the client. On failure it has written the error response and
// reports false.
func (s *Server) clientRequest(w http.ResponseWriter, r *http.Request) (url.Values, *Client, bool) {
	form, err := parseForm(w, r)
	if err == nil {
		var c *Client
		if c, err = s.authenticateClient(r, form); err == nil {
			return form, c, true
		}
	}
	writeError(w, r, err)
	return nil, nil, false
}

// authenticateClient identifies and authenticates the client of a request to the
// token, device authorization, PAR, revocation or introspection endpoint. A client
// uses exactly the one method it is registered with (RFC 6749 section 2.3); more
// than one method in a request is refused.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (*Client, error) {
	user, pass, basic := r.BasicAuth()
	hasSecret := form.Has("client_secret")
	hasAssertion := form.Has("client_assertion") || form.Has("client_assertion_type")
	n := 0
	for _, used := range []bool{basic, hasSecret, hasAssertion} {
		if used {
			n++
		}
	}
	if n > 1 {
		return nil, oauthError(pixie.ErrInvalidRequest, "the request uses more than one client authentication method (RFC 6749 section 2.3)")
	}
	switch {
	case basic:
		// RFC 6749 section 2.3.1: the id and secret are form-encoded before
		// they are joined and base64-encoded.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, oauthError(pixie.ErrInvalidClient, "the Basic credentials are not form-encoded (RFC 6749 section 2.3.1)")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, oauthError(pixie.ErrInvalidRequest, "client_id differs from the authenticated client")
		}
		return s.checkSecret(r, id, secret, pixie.ClientSecretBasic)
	case hasSecret:
		return s.checkSecret(r, form.Get("client_id"), form.Get("client_secret"), pixie.ClientSecretPost)
	case hasAssertion:
		return s.checkClientAssertion(r, form)
	}
	id := form.Get("client_id")
	if id == "" {
		return nil, oauthError(pixie.ErrInvalidClient, "no client authentication and no client_id")
	}
	c, err := s.lookupClient(r, id)
	if err != nil {
		return nil, err
	}
	if !c.public() {
		return nil, oauthError(pixie.ErrInvalidClient, "client %s must authenticate with %s", id, c.AuthMethod)
	}
	return c, nil
}

// lookupClient returns the registered client id, recording it for the metrics
// and the log. An unknown ID is not recorded: it would add a counter per made-up
// value, and may be a secret pasted in the wrong field.
func (s *Server) lookupClient(r *http.Request, id string) (*Client, error) {
	s.mu.Lock()
	c, ok := s.clients[id]
	s.mu.Unlock()
	if ok && c.fetchedUntil.IsZero() {
		setClient(r, id)
		return c, nil
	}
	if isMetadataClientID(id) {
		// A client ID metadata document: fetched, or fetched again once
		// its cache time is over (see clientidmetadata.go).
		return s.metadataClient(r, id, c)
	}
	return nil, oauthError(pixie.ErrInvalidClient, "unknown client")
}

// secretExpired refuses a client whose secret has expired
// (client_secret_expires_at, RFC 7591 section 3.2.1).
func (s *Server) secretExpired(c *Client) error {
	if !c.SecretExpiresAt.IsZero() && !s.now().Before(c.SecretExpiresAt) {
		return oauthError(pixie.ErrInvalidClient, "the client secret of %s expired at %s; register the client again", c.ID, c.SecretExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkSecret authenticates a client_secret_basic or client_secret_post client.
func (s *Server) checkSecret(r *http.Request, id, secret string, method pixie.AuthMethod) (*Client, error) {
	if id == "" {
		return nil, oauthError(pixie.ErrInvalidClient, "client_id is missing")
	}
	c, err := s.lookupClient(r, id)
	if err != nil {
		return nil, err
	}
	if c.AuthMethod != method {
		return nil, oauthError(pixie.ErrInvalidClient, "client %s is registered for %s, not %s", id, c.AuthMethod, method)
	}
	if subtle.ConstantTimeCompare([]byte(c.Secret.Reveal()), []byte(secret)) != 1 {
		return nil, oauthError(pixie.ErrInvalidClient, "client authentication failed")
	}
	if err := s.secretExpired(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkClientAssertion authenticates a client_secret_jwt or private_key_jwt client
// (RFC 7523 section 3): iss and sub are the client ID, aud names this server, exp
// is in the future and the jti was not seen before.
func (s *Server) checkClientAssertion(r *http.Request, form url.Values) (*Client, error) {
	if form.Get("client_assertion_type") != clientAssertionType {
		return nil, oauthError(pixie.ErrInvalidClient, "client_assertion_type must be %s", clientAssertionType)
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), slices.Concat(asymmetricAlgs, hmacAlgs))
	if err != nil {
		return nil, oauthError(pixie.ErrInvalidClient, "client_assertion is not a signed JWT")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Subject == "" {
		return nil, oauthError(pixie.ErrInvalidClient, "client_assertion has no sub claim")
	}
	c, err := s.lookupClient(r, unverified.Subject)
	if err != nil {
		return nil, err
	}
	if form.Has("client_id") && form.Get("client_id") != c.ID {
		return nil, oauthError(pixie.ErrInvalidClient, "client_id differs from the assertion subject")
	}
	alg := jose.SignatureAlgorithm(tok.Headers[0].Algorithm)
	var keys []any
	switch c.AuthMethod {
	case pixie.ClientSecretJWT:
		if !slices.Contains(hmacAlgs, alg) {
			return nil, oauthError(pixie.ErrInvalidClient, "client %s uses client_secret_jwt; %s is not an HMAC algorithm", c.ID, alg)
		}
		keys = []any{[]byte(c.Secret.Reveal())}
	case pixie.PrivateKeyJWT:
		if !slices.Contains(asymmetricAlgs, alg) {
			return nil, oauthError(pixie.ErrInvalidClient, "client %s uses private_key_jwt; %s is not an asymmetric algorithm", c.ID, alg)
		}
		keys = candidateKeys(c.Keys, tok.Headers[0].KeyID)
	default:
		return nil, oauthError(pixie.ErrInvalidClient, "client %s is registered for %s, not a JWT assertion", c.ID, c.AuthMethod)
	}
	var claims jwt.Claims
	if !verifyAny(tok, keys, &claims) {
		return nil, oauthError(pixie.ErrInvalidClient, "client_assertion signature does not verify")
	}
	if claims.Issuer != c.ID || claims.Subject != c.ID {
		return nil, oauthError(pixie.ErrInvalidClient, "client_assertion iss and sub must both be the client ID")
	}
	if c.AuthMethod == pixie.ClientSecretJWT {
		if err := s.secretExpired(c); err != nil {
			return nil, err
		}
	}
	// RFC 9126 section 2: the PAR endpoint URL also names this server.
	audiences := []string{s.issuer, s.url(pathToken), s.url(pathPAR)}
	if err := s.checkAssertionClaims(claims, audiences, "client_assertion:"+c.ID, pixie.ErrInvalidClient); err != nil {
		return nil, err
	}
	return c, nil
}

// checkAssertionClaims checks the claims that client assertions and JWT bearer
// grants share (RFC 7523 section 3): aud contains one of audiences, exp is in the
// future but at most [maxAssertionLifetime] away, nbf is past, and the jti is
// fresh. The jti is remembered under replayScope until exp.
func (s *Server) checkAssertionClaims(c jwt.Claims, audiences []string, replayScope string, code *pixie.Error) error {
	if !slices.ContainsFunc(audiences, c.Audience.Contains) {
		return oauthError(code, "assertion aud must contain one of %s", strings.Join(audiences, ", "))
	}
	now := s.now()
	if c.Expiry == nil {
		return oauthError(code, "assertion has no exp claim")
	}
	if !now.Before(c.Expiry.Time()) {
		return oauthError(code, "assertion expired")
	}
	if c.Expiry.Time().Sub(now) > maxAssertionLifetime+clockLeeway {
		return oauthError(code, "assertion exp is more than %s away; use short-lived assertions (RFC 7523 section 3)", maxAssertionLifetime)
	}
	if c.NotBefore != nil && now.Add(clockLeeway).Before(c.NotBefore.Time()) {
		return oauthError(code, "assertion is not valid yet (nbf)")
	}
	if c.ID == "" {
		return oauthError(code, "assertion has no jti claim")
	}
	if !s.useOnce(replayScope+":"+c.ID, c.Expiry.Time(), now) {
		return oauthError(code, "assertion jti was already used")
	}
	return nil
}

// clockLeeway is the clock skew tolerated on nbf and iat.
const clockLeeway = time.Minute

// maxAssertionLifetime bounds how far in the future an assertion's exp may be
// (RFC 7523 section 3 lets the server refuse an exp unreasonably far away). It
// also bounds how long a jti is remembered.
const maxAssertionLifetime = time.Hour

// candidateKeys returns the keys of set that may have signed a token with key ID
// kid: the matching ones, or all when kid is empty.
func candidateKeys(set jose.JSONWebKeySet, kid string) []any {
	var keys []any
	for _, k := range set.Keys {
		if kid == "" || k.KeyID == kid {
			keys = append(keys, k.Key)
		}
	}
	return keys
}

// verifyAny verifies tok with the first key that works and decodes its claims.
func verifyAny(tok *jwt.JSONWebToken, keys []any, dest ...any) bool {
	for _, k := range keys {
		if tok.Claims(k, dest...) == nil {
			return true
		}
	}
	return false
}

// useOnce records key as used until exp and reports whether it was unused. Entries
// past their expiry are pruned whenever the cache has doubled since the last
// pruning, so the work per call stays constant on average however many entries
// are live.
func (s *Server) useOnce(key string, exp, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until, seen := s.jtis[key]; seen && now.Before(until) {
		return false
	}
	if len(s.jtis) >= s.jtiPruneAt {
		for k, until := range s.jtis {
			if !now.Before(until) {
				delete(s.jtis, k)
			}
		}
		s.jtiPruneAt = max(1024, 2*len(s.jtis))
	}
	s.jtis[key] = exp
	return true
}
