package dpop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// proofType is the typ header of a DPoP proof (RFC 9449 section 4.2).
const proofType = "dpop+jwt"

// claims are the claims of a DPoP proof (RFC 9449 section 4.2).
type claims struct {
	ID       string           `json:"jti"`
	Method   string           `json:"htm"`
	URI      string           `json:"htu"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ATH      string           `json:"ath,omitempty"`
	Nonce    string           `json:"nonce,omitempty"`
}

// Proof returns a DPoP proof JWT (RFC 9449 section 4.2) for an HTTP request with
// the given method and absolute http(s) URL, signed with the Key and carrying
// its public JWK. The htu claim is the URL without query and fragment; jti is
// 128 random bits; iat is the Key's clock. When accessToken is not empty, ath is
// its base64url-encoded SHA-256 hash, as requests to a resource server need
// (section 7). The proof carries the nonce last recorded with [Key.SetNonce] for
// the URL's origin, if any (sections 8 and 9). Errors never include the access
// token or the URL's query.
func (k *Key) Proof(method, rawURL, accessToken string) (string, error) {
	if k == nil || k.s == nil {
		return "", errors.New("dpop: the zero Key cannot sign proofs; create one with NewKey")
	}
	if !isToken(method) {
		return "", fmt.Errorf("dpop: %q is not an HTTP method", method)
	}
	u, origin, err := parseURL(rawURL)
	if err != nil {
		return "", err
	}
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	c := claims{
		ID:       rand.Text(),
		Method:   method,
		URI:      (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String(),
		IssuedAt: jwt.NewNumericDate(now()),
		Nonce:    k.nonce(origin),
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.s.alg, Key: k.s.priv},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(proofType))
	if err != nil {
		return "", fmt.Errorf("dpop: preparing the %s signer: %w", k.s.alg, err)
	}
	proof, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("dpop: signing the proof with %s: %w", k.s.alg, err)
	}
	return proof, nil
}

// SetNonce records nonce, a DPoP-Nonce header value the server at rawURL's
// origin returned (RFC 9449 sections 8 and 9), replacing the one recorded
// before. Later proofs for that origin carry it. An empty nonce or a URL that is
// not absolute http(s) is ignored.
func (k *Key) SetNonce(rawURL, nonce string) {
	if k == nil || k.s == nil || nonce == "" {
		return
	}
	_, origin, err := parseURL(rawURL)
	if err != nil {
		return
	}
	s := k.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nonces[origin]; !ok && len(s.nonces) >= maxOrigins {
		for o := range s.nonces {
			delete(s.nonces, o)
			break
		}
	}
	s.nonces[origin] = nonce
}

// nonce returns the nonce recorded for origin, or "".
func (k *Key) nonce(origin string) string {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	return k.s.nonces[origin]
}

// parseURL parses an absolute http(s) URL and returns it with its origin
// (RFC 6454 section 4): scheme and host lowercased, the default port dropped, so
// that equivalent URLs share nonces. An empty path becomes "/", the request
// target a client sends for it (RFC 9110 section 4.2.3). Errors name neither the
// query nor the fragment, which may hold credentials.
func parseURL(rawURL string) (*url.URL, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("dpop: the request URL does not parse: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, "", errors.New("dpop: the request URL must be an absolute http or https URL")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "80" && u.Scheme == "http" || port == "443" && u.Scheme == "https" {
		port = ""
	}
	origin := u.Scheme + "://" + host
	if strings.Contains(host, ":") {
		origin = u.Scheme + "://[" + host + "]"
	}
	if port != "" {
		origin = u.Scheme + "://" + net.JoinHostPort(host, port)
	}
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	return u, origin, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), the
// syntax of a method name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}
