// Package oidc verifies OpenID Connect ID tokens against the issuer's JSON Web Key
// Set (OpenID Connect Core 1.0 section 3.1.3.7) and fetches userinfo (section 5.3).
//
// Build a [Verifier] from discovered metadata with [NewVerifierFromMetadata], or
// from explicit settings with [NewVerifier], then call [Verifier.Verify] or
// [Verifier.VerifyToken] for each ID token. ID tokens are verified with the
// issuer's public keys only: "none" and the HMAC algorithms are always refused.
package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/wire"
)

// ErrInvalidIDToken is wrapped by every error that rejects an ID token for what it
// contains (as opposed to a failure to fetch the keys): errors.Is(err,
// ErrInvalidIDToken) reports whether the token itself was refused.
var ErrInvalidIDToken = errors.New("oidc: invalid ID token")

// DefaultLeeway is the clock skew tolerated by default when checking exp, iat,
// nbf and auth_time.
const DefaultLeeway = time.Minute

// maxIDToken bounds the size of an ID token pixie parses.
const maxIDToken = 256 << 10

// supportedAlgorithms are the JWS algorithms pixie verifies ID tokens with: the
// asymmetric ones of RFC 7518 section 3.1 and RFC 8037.
var supportedAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// ClientID is the client's identifier: the ID token's aud must contain it, and
	// its azp, when present, must equal it. Required.
	ClientID string
	// Issuer is the issuer identifier; the token's iss must equal it exactly.
	// Required (taken from the metadata by [NewVerifierFromMetadata]).
	Issuer string
	// JWKSURL is the issuer's jwks_uri, where its signing keys are. Required (taken
	// from the metadata by [NewVerifierFromMetadata]).
	JWKSURL string
	// Algorithms are the accepted values of the token's alg header. Empty means
	// the issuer's id_token_signing_alg_values_supported when built from metadata,
	// otherwise every asymmetric algorithm: RS256, RS384, RS512, PS256, PS384,
	// PS512, ES256, ES384, ES512 and EdDSA. "none" and HS256, HS384 and HS512 are
	// refused: a verifier holding public keys must never accept them (RFC 8725
	// section 3.1).
	Algorithms []string
	// Leeway tolerates clock skew in the exp, iat, nbf and auth_time checks. 0
	// means [DefaultLeeway]; a negative value means none.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient fetches the JWKS. When nil, a client with a 30 second timeout
	// over http.DefaultTransport is used.
	HTTPClient *http.Client
	// AllowInsecureHTTP permits an http:// JWKSURL on a host other than loopback.
	AllowInsecureHTTP bool
	// KeysTTL is how long a fetched key set is used before it is fetched again; 0
	// means one hour. If that fetch fails, the key set fetched last stays in use,
	// until it is twice KeysTTL old, and is fetched again every RefetchInterval.
	KeysTTL time.Duration
	// RefetchInterval is the shortest time between two fetches of the key set
	// caused by a token whose key is not in it (a key rotation, or a forged kid);
	// 0 means 10 seconds.
	RefetchInterval time.Duration
}

// Verifier verifies the ID tokens of one issuer for one client. It caches the
// issuer's key set and is safe for concurrent use.
type Verifier struct {
	clientID string
	issuer   string
	algs     []jose.SignatureAlgorithm
	leeway   time.Duration
	now      func() time.Time
	keys     *remoteKeys
}

// NewVerifier returns a Verifier for cfg. It fetches nothing: the key set is
// fetched on the first verification.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: verifier: no ClientID configured")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("oidc: verifier: no Issuer configured")
	}
	if err := wire.CheckURL(cfg.JWKSURL, cfg.AllowInsecureHTTP); err != nil {
		return nil, fmt.Errorf("oidc: verifier: JWKS URL: %w", err)
	}
	algs := supportedAlgorithms
	if len(cfg.Algorithms) > 0 {
		algs = nil
		for _, a := range cfg.Algorithms {
			alg := jose.SignatureAlgorithm(a)
			if !slices.Contains(supportedAlgorithms, alg) {
				return nil, fmt.Errorf("oidc: verifier: algorithm %q is not accepted for ID tokens; use one of %s", a, algNames(supportedAlgorithms))
			}
			algs = append(algs, alg)
		}
	}
	leeway := cfg.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Verifier{
		clientID: cfg.ClientID,
		issuer:   cfg.Issuer,
		algs:     algs,
		leeway:   leeway,
		now:      now,
		keys:     newRemoteKeys(cfg, now),
	}, nil
}

// NewVerifierFromMetadata returns a Verifier for the issuer described by m (see
// [pixie.Discover]): cfg's Issuer, JWKSURL and Algorithms default to m's issuer,
// jwks_uri and id_token_signing_alg_values_supported. The metadata's "none" and
// HMAC algorithms are ignored; if it lists no other, it is an error.
func NewVerifierFromMetadata(m *pixie.Metadata, cfg VerifierConfig) (*Verifier, error) {
	if m == nil {
		return nil, errors.New("oidc: verifier: no metadata; discover it with pixie.Discover first")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = m.Issuer
	} else if cfg.Issuer != m.Issuer {
		return nil, fmt.Errorf("oidc: verifier: configured issuer %q differs from the metadata's issuer %q", cfg.Issuer, m.Issuer)
	}
	if cfg.JWKSURL == "" {
		if m.JWKSURI == "" {
			return nil, fmt.Errorf("oidc: verifier: the metadata of %s has no jwks_uri", m.Issuer)
		}
		cfg.JWKSURL = m.JWKSURI
	}
	if len(cfg.Algorithms) == 0 && len(m.IDTokenSigningAlgValuesSupported) > 0 {
		for _, a := range m.IDTokenSigningAlgValuesSupported {
			if slices.Contains(supportedAlgorithms, jose.SignatureAlgorithm(a)) {
				cfg.Algorithms = append(cfg.Algorithms, a)
			}
		}
		if len(cfg.Algorithms) == 0 {
			return nil, fmt.Errorf("oidc: verifier: %s signs ID tokens only with %q; pixie verifies ID tokens with public-key algorithms (%s)",
				m.Issuer, m.IDTokenSigningAlgValuesSupported, algNames(supportedAlgorithms))
		}
	}
	return NewVerifier(cfg)
}

func algNames(algs []jose.SignatureAlgorithm) string {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// VerifyOption is an option of [Verifier.Verify].
type VerifyOption interface {
	applyVerify(*verifyOptions)
}

type verifyOptions struct {
	nonce       string
	accessToken pixie.Secret
	maxAge      time.Duration
	hasMaxAge   bool
}

type verifyOptionFunc func(*verifyOptions)

func (f verifyOptionFunc) applyVerify(o *verifyOptions) { f(o) }

// WithNonce requires the token's nonce claim to equal nonce, the value sent in the
// authentication request (OpenID Connect Core section 3.1.3.7, item 11). An
// empty nonce checks nothing.
func WithNonce(nonce string) VerifyOption {
	return verifyOptionFunc(func(o *verifyOptions) { o.nonce = nonce })
}

// WithAccessToken checks the token's at_hash claim, when present, against the
// access token issued with it (OpenID Connect Core section 3.1.3.8).
func WithAccessToken(accessToken pixie.Secret) VerifyOption {
	return verifyOptionFunc(func(o *verifyOptions) { o.accessToken = accessToken })
}

// WithMaxAge requires an auth_time claim no older than maxAge, for an
// authentication request that sent max_age (OpenID Connect Core section 3.1.3.7,
// item 13).
func WithMaxAge(maxAge time.Duration) VerifyOption {
	return verifyOptionFunc(func(o *verifyOptions) { o.maxAge, o.hasMaxAge = maxAge, true })
}

// IDToken is a verified ID token (OpenID Connect Core section 2).
type IDToken struct {
	Issuer          string    // iss
	Subject         string    // sub: the user's identifier at the issuer
	Audience        []string  // aud
	AuthorizedParty string    // azp, if present
	Expiry          time.Time // exp
	IssuedAt        time.Time // iat
	AuthTime        time.Time // auth_time, or zero
	Nonce           string    // nonce, if present
	AccessTokenHash string    // at_hash, if present

	payload []byte
}

// Claims decodes the token's claims (its JSON payload) into v, for claims IDToken
// does not hold, such as email or groups.
func (t *IDToken) Claims(v any) error {
	if err := json.Unmarshal(t.payload, v); err != nil {
		return fmt.Errorf("oidc: ID token claims: %w", err)
	}
	return nil
}

// idTokenClaims are the ID token claims pixie checks besides those of jwt.Claims.
type idTokenClaims struct {
	Nonce    string           `json:"nonce"`
	AuthTime *jwt.NumericDate `json:"auth_time"`
	AZP      string           `json:"azp"`
	AtHash   string           `json:"at_hash"`
}

// VerifyToken verifies tok.IDToken as [Verifier.Verify] does, checking its
// at_hash against tok.AccessToken.
func (v *Verifier) VerifyToken(ctx context.Context, tok *pixie.Token, opts ...VerifyOption) (*IDToken, error) {
	if tok == nil || tok.IDToken.IsZero() {
		return nil, errors.New("oidc: the token response has no id_token; request the openid scope")
	}
	opts = append([]VerifyOption{WithAccessToken(tok.AccessToken)}, opts...)
	return v.Verify(ctx, tok.IDToken.Reveal(), opts...)
}

// Verify verifies rawIDToken as OpenID Connect Core section 3.1.3.7 requires: its
// signature with the issuer's key named by kid (fetching the key set again,
// at most once per RefetchInterval, when the key is unknown: the issuer may have
// rotated its keys), its alg against the accepted algorithms, iss equal to the
// issuer, aud containing the client ID, azp equal to the client ID when present
// and present when aud lists several audiences, exp in the future and iat not in
// the future (both within the leeway), nbf if present, and then the options'
// nonce, at_hash and auth_time checks. A token whose typ header names another
// kind of JWT, such as an access token (at+jwt) or a logout token (logout+jwt),
// is refused, and so is one with critical header parameters (crit), claims
// with duplicate names, or claim names that differ only in case, which JSON
// decoders would read differently.
//
// An error wraps [ErrInvalidIDToken] when the token is refused; other errors
// (fetching the key set) may be temporary. Errors never contain the token.
func (v *Verifier) Verify(ctx context.Context, rawIDToken string, opts ...VerifyOption) (*IDToken, error) {
	var o verifyOptions
	for _, opt := range opts {
		opt.applyVerify(&o)
	}
	payload, alg, err := v.verifyJWT(ctx, rawIDToken, v.algs)
	if err != nil {
		return nil, idTokenError(err)
	}
	var std jwt.Claims
	var extra idTokenClaims
	if err := josejson.Unmarshal(payload, &std); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidIDToken, err)
	}
	if err := josejson.Unmarshal(payload, &extra); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidIDToken, err)
	}
	if err := checkClaimNames(payload); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	if err := v.checkClaims(&std, &extra, alg, &o); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	t := &IDToken{
		Issuer:          std.Issuer,
		Subject:         std.Subject,
		Audience:        std.Audience,
		AuthorizedParty: extra.AZP,
		Expiry:          std.Expiry.Time(),
		IssuedAt:        std.IssuedAt.Time(),
		Nonce:           extra.Nonce,
		AccessTokenHash: extra.AtHash,
		payload:         payload,
	}
	if extra.AuthTime != nil {
		t.AuthTime = extra.AuthTime.Time()
	}
	return t, nil
}

// checkClaimNames refuses claims whose names differ only in case, such as sub
// and Sub. pixie reads claim names case-sensitively (RFC 7519 section 4), as
// go-jose does, which also refuses duplicate names; encoding/json, which
// [IDToken.Claims] and most applications use, matches names case-insensitively
// and would read a value other than the one pixie verified.
func checkClaimNames(payload []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil {
		return fmt.Errorf("claims: %v", err)
	}
	seen := make(map[string]string, len(members))
	for name := range members {
		key := strings.Map(foldRune, name)
		if other, ok := seen[key]; ok {
			pair := []string{name, other}
			slices.Sort(pair)
			return fmt.Errorf("claims %q and %q differ only in case", pair[0], pair[1])
		}
		seen[key] = name
	}
	return nil
}

// foldRune returns the smallest rune that is equal to r under Unicode simple
// case folding, so that names strings.EqualFold reports equal map to one string.
func foldRune(r rune) rune {
	for {
		next := unicode.SimpleFold(r)
		if next <= r {
			return next
		}
		r = next
	}
}

// refusedError says why a JWT was refused, as opposed to a failure to fetch the
// keys to verify it with.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

func refused(format string, args ...any) error {
	return &refusedError{fmt.Sprintf(format, args...)}
}

// idTokenError wraps a refusal from verifyJWT in ErrInvalidIDToken.
func idTokenError(err error) error {
	var r *refusedError
	if errors.As(err, &r) {
		return fmt.Errorf("%w: %s", ErrInvalidIDToken, r.msg)
	}
	return err
}

// verifyJWT parses raw, a JWS in compact serialization signed with one of algs,
// and verifies its signature with the issuer's keys, returning the payload and
// the algorithm. A token it refuses gives a *refusedError.
func (v *Verifier) verifyJWT(ctx context.Context, raw string, algs []jose.SignatureAlgorithm) ([]byte, jose.SignatureAlgorithm, error) {
	if len(raw) > maxIDToken {
		return nil, "", refused("longer than %d bytes", maxIDToken)
	}
	jws, err := jose.ParseSignedCompact(raw, algs)
	if err != nil {
		var ua *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &ua) {
			return nil, "", refused("signed with alg %s, which is not accepted (accepted: %s)", quoted(ua.Got), algNames(algs))
		}
		return nil, "", refused("not a signed JWT in compact serialization: %s", cut(err.Error()))
	}
	if len(jws.Signatures) != 1 {
		return nil, "", refused("has %d signatures, want 1", len(jws.Signatures))
	}
	hdr := jws.Signatures[0].Header
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); explicitlyTyped(typ) {
		return nil, "", refused("typ %s marks another kind of token (RFC 8725 section 3.11)", quoted(typ))
	}
	if crit, ok := hdr.ExtraHeaders["crit"]; ok {
		// go-jose would refuse most of them too, but only as a signature that
		// does not verify, after fetching the keys.
		return nil, "", refused("lists critical header parameters %s, which pixie does not understand (RFC 7515 section 4.1.11)", quoted(crit))
	}
	keys, err := v.keys.get(ctx)
	if err != nil {
		return nil, "", err
	}
	candidates := candidateKeys(keys, hdr.KeyID, alg)
	if payload, ok := verifyWith(jws, candidates); ok {
		return payload, alg, nil
	}
	fetched := false
	if hdr.KeyID == "" || len(candidates) == 0 {
		// The key is not in the cached set: the issuer may have rotated its keys.
		if keys, fetched, err = v.keys.refresh(ctx); err != nil {
			return nil, "", err
		}
		candidates = candidateKeys(keys, hdr.KeyID, alg)
		if payload, ok := verifyWith(jws, candidates); ok {
			return payload, alg, nil
		}
	}
	var msg string
	switch {
	case hdr.KeyID != "" && len(candidates) > 0:
		return nil, "", refused("the signature does not verify with the issuer's %s key %q", alg, hdr.KeyID)
	case hdr.KeyID != "":
		msg = fmt.Sprintf("no %s key with kid %s in the key set at %s", alg, quoted(hdr.KeyID), v.keys.url)
	default:
		msg = fmt.Sprintf("no %s key in the key set at %s verifies the signature", alg, v.keys.url)
	}
	if !fetched {
		msg += fmt.Sprintf(" (not fetched again: it was refetched less than %s ago)", v.keys.refetchInterval)
	}
	return nil, "", refused("%s", msg)
}

// maxQuoted bounds how much of a header value an error quotes: the header of a
// token not yet verified is anyone's, and can be as long as the token.
const maxQuoted = 80

// quoted returns v formatted with %q, cut to maxQuoted bytes.
func quoted(v any) string {
	return cut(fmt.Sprintf("%q", v))
}

// cut returns s, or its first maxQuoted bytes followed by "...".
func cut(s string) string {
	if len(s) > maxQuoted {
		return s[:maxQuoted] + "..."
	}
	return s
}

// explicitlyTyped reports whether typ, a JWS typ header, is the media type of an
// explicitly typed JWT (RFC 8725 section 3.11), such as at+jwt for an access token
// (RFC 9068 section 2.1) or logout+jwt for a logout token (OpenID Connect
// Back-Channel Logout section 2.4). ID tokens and userinfo responses have no such
// type: a token that has one was issued for another purpose, perhaps with the
// same keys, issuer and audience, and must not be taken for one of them.
func explicitlyTyped(typ string) bool {
	return strings.HasSuffix(strings.ToLower(typ), "+jwt")
}

// verifyWith returns the payload if one of keys verifies the signature.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, k := range keys {
		if payload, err := jws.Verify(k.Key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// candidateKeys returns the signing keys of keys that match kid (when kid is set)
// and that can verify alg.
func candidateKeys(keys []jose.JSONWebKey, kid string, alg jose.SignatureAlgorithm) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Use != "" && k.Use != "sig" || k.Algorithm != "" && k.Algorithm != string(alg) {
			continue
		}
		if keyFits(k.Key, alg) {
			out = append(out, k)
		}
	}
	return out
}

// keyFits reports whether key is a public key of the type and curve alg needs, so
// that a key is never used with an algorithm it was not made for.
func keyFits(key any, alg jose.SignatureAlgorithm) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(string(alg), "RS") || strings.HasPrefix(string(alg), "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return k.Curve == elliptic.P256()
		case jose.ES384:
			return k.Curve == elliptic.P384()
		case jose.ES512:
			return k.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// checkClaims applies OpenID Connect Core section 3.1.3.7 items 2 to 13 and
// section 3.1.3.8 to the verified claims.
func (v *Verifier) checkClaims(std *jwt.Claims, extra *idTokenClaims, alg jose.SignatureAlgorithm, o *verifyOptions) error {
	if std.Issuer != v.issuer {
		return fmt.Errorf("iss %q is not the expected issuer %q", std.Issuer, v.issuer)
	}
	if std.Subject == "" {
		return errors.New("no sub claim")
	}
	if !std.Audience.Contains(v.clientID) {
		return fmt.Errorf("aud %q does not contain the client ID %q", []string(std.Audience), v.clientID)
	}
	if len(std.Audience) > 1 && extra.AZP == "" {
		return fmt.Errorf("aud lists several audiences %q but there is no azp claim", []string(std.Audience))
	}
	if extra.AZP != "" && extra.AZP != v.clientID {
		return fmt.Errorf("azp %q is not the client ID %q", extra.AZP, v.clientID)
	}
	now := v.now()
	if std.Expiry == nil {
		return errors.New("no exp claim")
	}
	if exp := std.Expiry.Time(); !now.Before(exp.Add(v.leeway)) {
		return fmt.Errorf("expired at %s (now %s, leeway %s)", exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
	}
	if std.IssuedAt == nil {
		return errors.New("no iat claim")
	}
	if iat := std.IssuedAt.Time(); iat.After(now.Add(v.leeway)) {
		return fmt.Errorf("iat %s is in the future (now %s, leeway %s); check the clocks", iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
	}
	if std.NotBefore != nil {
		if nbf := std.NotBefore.Time(); nbf.After(now.Add(v.leeway)) {
			return fmt.Errorf("not valid before %s (now %s, leeway %s)", nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), v.leeway)
		}
	}
	if o.nonce != "" {
		if extra.Nonce == "" {
			return errors.New("no nonce claim, but the authentication request sent one")
		}
		if subtle.ConstantTimeCompare([]byte(extra.Nonce), []byte(o.nonce)) != 1 {
			return errors.New("nonce does not match the one sent in the authentication request (a replayed or injected token?)")
		}
	}
	if o.hasMaxAge {
		if extra.AuthTime == nil {
			return errors.New("no auth_time claim, but max_age was requested")
		}
		if at := extra.AuthTime.Time(); now.After(at.Add(o.maxAge).Add(v.leeway)) {
			return fmt.Errorf("auth_time %s is older than max_age %s", at.UTC().Format(time.RFC3339), o.maxAge)
		}
	}
	if extra.AtHash != "" && !o.accessToken.IsZero() {
		want, err := tokenHash(alg, o.accessToken.Reveal())
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(extra.AtHash), []byte(want)) != 1 {
			return errors.New("at_hash does not match the access token issued with it")
		}
	}
	return nil
}

// tokenHash computes an at_hash or c_hash value: the base64url encoding of the
// left half of the hash of token, with the hash of alg (OpenID Connect Core
// section 3.1.3.6; SHA-512 for EdDSA with Ed25519, the only EdDSA curve pixie
// accepts).
func tokenHash(alg jose.SignatureAlgorithm, token string) (string, error) {
	var h hash.Hash
	switch alg {
	case jose.RS256, jose.PS256, jose.ES256:
		h = sha256.New()
	case jose.RS384, jose.PS384, jose.ES384:
		h = sha512.New384()
	case jose.RS512, jose.PS512, jose.ES512, jose.EdDSA:
		h = sha512.New()
	default:
		return "", fmt.Errorf("no at_hash hash for alg %q", alg)
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}
