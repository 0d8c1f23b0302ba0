package devserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// keyring holds the signing keys: the active RS256 and ES256 keys and the retired
// ones, still published in the JWKS until their retention ends.
type keyring struct {
	mu      sync.Mutex
	active  []jose.JSONWebKey
	retired []retiredKey
}

type retiredKey struct {
	key jose.JSONWebKey
	at  time.Time
}

func newKeyring(keys []jose.JSONWebKey) (*keyring, error) {
	if len(keys) == 0 {
		var err error
		if keys, err = generateKeys(); err != nil {
			return nil, err
		}
	}
	if err := checkKeys(keys); err != nil {
		return nil, err
	}
	return &keyring{active: keys}, nil
}

// checkKeys checks that keys are private signing keys with IDs, RS256 or ES256,
// one of them RS256.
func checkKeys(keys []jose.JSONWebKey) error {
	hasRS256 := false
	for _, k := range keys {
		if k.IsPublic() || !k.Valid() || k.KeyID == "" {
			return errors.New("devserver: each signing key must be a valid private key with a key ID")
		}
		switch k.Algorithm {
		case string(jose.RS256):
			hasRS256 = true
		case string(jose.ES256):
		default:
			return fmt.Errorf("devserver: signing key %s has algorithm %q; use RS256 or ES256", k.KeyID, k.Algorithm)
		}
	}
	if !hasRS256 {
		return errors.New("devserver: the signing keys need an RS256 key (OpenID Connect Core section 15.1)")
	}
	return nil
}

// GenerateSigningKeys returns a new RS256 key and a new ES256 key, with random key
// IDs, for [Options.SigningKeys].
func GenerateSigningKeys() ([]jose.JSONWebKey, error) { return generateKeys() }

func generateKeys() ([]jose.JSONWebKey, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devserver: generating an RSA key: %w", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devserver: generating an EC key: %w", err)
	}
	return []jose.JSONWebKey{
		{Key: rk, KeyID: "rs-" + randomString(6), Algorithm: string(jose.RS256), Use: "sig"},
		{Key: ek, KeyID: "es-" + randomString(6), Algorithm: string(jose.ES256), Use: "sig"},
	}, nil
}

// sign returns a compact JWT of claims with header typ, signed by the active key
// for alg.
func (k *keyring) sign(alg jose.SignatureAlgorithm, typ string, claims any) (string, error) {
	k.mu.Lock()
	var key jose.JSONWebKey
	for _, a := range k.active {
		if a.Algorithm == string(alg) {
			key = a
		}
	}
	k.mu.Unlock()
	if key.Key == nil {
		return "", fmt.Errorf("devserver: no %s signing key", alg)
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), key.KeyID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key.Key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// publicSet returns the published keys at now: the active ones and those retired
// less than retention ago.
func (k *keyring) publicSet(now time.Time, retention time.Duration) jose.JSONWebKeySet {
	k.mu.Lock()
	defer k.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, a := range k.active {
		set.Keys = append(set.Keys, a.Public())
	}
	kept := k.retired[:0]
	for _, r := range k.retired {
		if now.Sub(r.at) < retention {
			kept = append(kept, r)
			set.Keys = append(set.Keys, r.key.Public())
		}
	}
	k.retired = kept
	return set
}

// rotate makes fresh keys active and retires the current ones at now.
func (k *keyring) rotate(now time.Time) error {
	fresh, err := generateKeys()
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, a := range k.active {
		k.retired = append(k.retired, retiredKey{key: a, at: now})
	}
	k.active = fresh
	return nil
}

// RotateKeys replaces the signing keys with a new RS256 and ES256 pair. The old
// public keys stay in the JWKS for [Options.KeyRetention], so tokens they signed
// still verify.
func (s *Server) RotateKeys() error {
	if err := s.keys.rotate(s.now()); err != nil {
		return err
	}
	return s.persist(func(d *stateDB) error { return d.saveKeys(s.keys) })
}

// KeySet returns the published public keys, as served at the jwks_uri.
func (s *Server) KeySet() jose.JSONWebKeySet {
	return s.keys.publicSet(s.now(), s.opts.KeyRetention)
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	set := s.KeySet()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "max-age=60")
	writeJSONBody(w, http.StatusOK, set)
}
