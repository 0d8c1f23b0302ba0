package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/wire"
)

var _ pixie.DPoPProver = (*Key)(nil)

// Key is a DPoP private key with its public JWK (RFC 9449 section 4). It makes
// proofs with [Key.Proof] and remembers the nonces servers give per origin
// (sections 8 and 9). Create one with [NewKey], [NewKeyFrom] or
// [UnmarshalPrivateJWK]; the zero Key makes no proofs.
//
// A Key never shows its private part: fmt verbs, log/slog, encoding/json and
// encoding.TextMarshaler show only its algorithm and thumbprint. The private key
// leaves the Key only through [Key.MarshalPrivateJWK].
//
// A Key is safe for concurrent use; set Now before the first use.
type Key struct {
	// Now is the clock that sets the iat claim of proofs; nil means time.Now.
	Now func() time.Time

	// s points to the key material, so that even where fmt cannot call Key's
	// methods it prints only an address.
	s *state
}

// state is a Key's key material and nonces.
type state struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
	jkt  string

	mu     sync.Mutex
	nonces map[string]string // by origin
}

// maxOrigins bounds how many origins' nonces a Key remembers.
const maxOrigins = 256

// NewKey generates an ECDSA P-256 key that signs with ES256 (RFC 7518 section
// 3.4), the DPoP algorithm servers most commonly accept.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dpop: generating a P-256 key: %w", err)
	}
	return NewKeyFrom(priv)
}

// NewKeyFrom makes a Key from an existing private key, which must be one of:
//
//   - *ecdsa.PrivateKey on P-256, P-384 or P-521, signing with ES256, ES384 or
//     ES512;
//   - ed25519.PrivateKey, signing with EdDSA;
//   - *rsa.PrivateKey of at least 2048 bits, signing with RS256.
//
// For RSA keys RS256 is chosen over PS256 for interoperability: RFC 7518
// section 3.1 makes RS256 recommended and PS256 only optional for JOSE
// implementations, so a server that accepts RSA proofs at all accepts RS256.
func NewKeyFrom(k crypto.Signer) (*Key, error) {
	alg, err := wire.SigningAlg(k)
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	if p, ok := k.(*ed25519.PrivateKey); ok {
		k = *p
	}
	if err := checkPair(k, alg); err != nil {
		return nil, err
	}
	pub := jose.JSONWebKey{Key: k.Public()}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("dpop: computing the key thumbprint: %w", err)
	}
	return &Key{s: &state{
		priv:   k,
		alg:    alg,
		jkt:    base64.RawURLEncoding.EncodeToString(tp),
		nonces: make(map[string]string),
	}}, nil
}

// checkPair signs a test message with k and verifies it with k's public key, so
// that a private key that does not match its public part (a hand-edited JWK) is
// refused now rather than making proofs no server accepts.
func checkPair(k crypto.Signer, alg jose.SignatureAlgorithm) error {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, nil)
	if err != nil {
		return fmt.Errorf("dpop: the %s key cannot sign: %w", alg, err)
	}
	jws, err := signer.Sign([]byte("pixie dpop key check"))
	if err != nil {
		return fmt.Errorf("dpop: the %s key cannot sign: %w", alg, err)
	}
	if _, err := jws.Verify(k.Public()); err != nil {
		return fmt.Errorf("dpop: the %s private key does not match its public key", alg)
	}
	return nil
}

// Algorithm returns the JWS algorithm the Key signs proofs with, such as "ES256"
// (RFC 9449 section 4.2, the alg header), or "" for the zero Key. A server lists
// those it accepts in dpop_signing_alg_values_supported (section 5.1).
func (k *Key) Algorithm() string {
	if k == nil || k.s == nil {
		return ""
	}
	return string(k.s.alg)
}

// Thumbprint returns the base64url-encoded JWK SHA-256 thumbprint of the public
// key (RFC 7638 section 3): the cnf.jkt of tokens bound to the Key (RFC 9449
// section 6) and the dpop_jkt of an authorization request (section 10). It is ""
// for the zero Key.
func (k *Key) Thumbprint() string {
	if k == nil || k.s == nil {
		return ""
	}
	return k.s.jkt
}

// MarshalPrivateJWK encodes the private key, with its alg, as a JSON Web Key
// (RFC 7517 section 4) for [UnmarshalPrivateJWK]. It is the only way the private
// key leaves a Key: store the result as carefully as the tokens bound to it
// (a file with mode 0600, an OS keyring, a sealed store record).
func (k *Key) MarshalPrivateJWK() ([]byte, error) {
	if k == nil || k.s == nil {
		return nil, errors.New("dpop: the zero Key has no private key; create one with NewKey")
	}
	jwk := jose.JSONWebKey{Key: k.s.priv, Algorithm: string(k.s.alg), Use: "sig"}
	b, err := jwk.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("dpop: encoding the private key: %w", err)
	}
	return b, nil
}

// UnmarshalPrivateJWK restores a Key from a private JSON Web Key (RFC 7517), such
// as one [Key.MarshalPrivateJWK] wrote. The key must be one [NewKeyFrom]
// accepts; an alg member, if present, must be the algorithm pixie signs with for
// that key.
func UnmarshalPrivateJWK(data []byte) (*Key, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(data, &jwk); err != nil {
		return nil, fmt.Errorf("dpop: the private key is not a valid JWK: %w", err)
	}
	if jwk.IsPublic() {
		return nil, errors.New("dpop: the JWK is a public key; DPoP needs the private key")
	}
	signer, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dpop: the JWK holds a %T, not a private signing key", jwk.Key)
	}
	k, err := NewKeyFrom(signer)
	if err != nil {
		return nil, err
	}
	if jwk.Algorithm != "" && jwk.Algorithm != string(k.s.alg) {
		return nil, fmt.Errorf("dpop: the JWK's alg is %s, but pixie signs with %s for this key", jwk.Algorithm, k.s.alg)
	}
	return k, nil
}

// String returns the Key's algorithm and thumbprint, never its private part.
func (k Key) String() string {
	if k.s == nil {
		return "dpop.Key{}"
	}
	return "dpop.Key{" + string(k.s.alg) + " jkt=" + k.s.jkt + " private=" + redacted + "}"
}

// redacted stands for the private key wherever a Key is printed.
const redacted = "[redacted]"

// GoString returns a Go-syntax form without the private part, for %#v.
func (k Key) GoString() string {
	if k.s == nil {
		return "dpop.Key{}"
	}
	return "dpop.Key{alg: " + strconv.Quote(string(k.s.alg)) + ", jkt: " + strconv.Quote(k.s.jkt) + ", private: " + redacted + "}"
}

// Format implements fmt.Formatter so that every verb prints the redacted form:
// %#v the GoString form, %q the quoted String form, any other verb the String
// form.
func (k Key) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, k.GoString())
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(k.String()))
	default:
		fmt.Fprint(f, k.String())
	}
}

// LogValue implements slog.LogValuer: a group of the algorithm and thumbprint.
func (k Key) LogValue() slog.Value {
	if k.s == nil {
		return slog.GroupValue()
	}
	return slog.GroupValue(slog.String("alg", string(k.s.alg)), slog.String("jkt", k.s.jkt))
}

// MarshalJSON encodes the String form. Persist the private key with
// [Key.MarshalPrivateJWK] instead.
func (k Key) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// MarshalText encodes the String form, so YAML, XML and map keys stay clean too.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }
