package devserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FuzzCheckDPoP feeds DPoP proofs (RFC 9449 section 4) built from arbitrary
// JOSE headers and claims, signed with a fixed P-256 key and then optionally
// tampered with at one byte, to the devserver's proof verification. It must
// never panic, and a proof it accepts must be one a verifier written from the
// RFC accepts too: its signature verifies with the fixed key over the header
// and claims it carries (RFC 7515 section 5.2), its jwk is that key (the
// returned thumbprint is the key's, RFC 7638), its htm is the request's
// method, it has a jti never accepted before (section 11.1), and with an
// access token its ath is the token's hash (section 4.3).
func FuzzCheckDPoP(f *testing.F) {
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), sha256Sum("pixie FuzzCheckDPoP key"))
	if err != nil {
		f.Fatal(err)
	}
	other, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), sha256Sum("pixie FuzzCheckDPoP other key"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	s, err := New(Options{Issuer: "http://127.0.0.1:9000", Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	tp, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		f.Fatal(err)
	}
	wantJKT := base64.RawURLEncoding.EncodeToString(tp)

	jwk := func(k any) string {
		b, err := json.Marshal(jose.JSONWebKey{Key: k})
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	pub := jwk(&key.PublicKey)
	hdr := `{"typ":"dpop+jwt","alg":"ES256","jwk":` + pub + `}`
	claims := func(jti, htm, htu string, iat int64, extra string) string {
		return fmt.Sprintf(`{"jti":%q,"htm":%q,"htu":%q,"iat":%d%s}`, jti, htm, htu, iat, extra)
	}
	const at = "an-access-token"
	sum := sha256.Sum256([]byte(at))
	ath := `,"ath":"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
	tokenURL, iat := s.url("/token"), now.Unix()
	for _, seed := range []struct {
		hdr, claims string
		at          uint16
		xor         byte
		token       string
	}{
		{hdr, claims("a", "POST", tokenURL, iat, ""), 0, 0, ""},
		{hdr, claims("b", "POST", "HTTP://127.0.0.1:9000/token?x#y", iat-60, ""), 0, 0, ""},
		{hdr, claims("c", "POST", tokenURL, iat, ath), 0, 0, at},
		{hdr, claims("d", "POST", tokenURL, iat, `,"ath":"x"`), 0, 0, at},
		{hdr, claims("e", "POST", tokenURL, iat, ""), 5, 1, ""},
		{hdr, claims("f", "POST", tokenURL, iat, ""), 300, 0x20, ""},
		{hdr, claims("g", "POST", tokenURL, iat, ""), 420, 4, ""},
		{hdr, claims("h", "POST", tokenURL, iat, ""), 470, 1, ""},
		{hdr, claims("", "POST", tokenURL, iat, ""), 0, 0, ""},
		{hdr, claims("i", "GET", tokenURL, iat, ""), 0, 0, ""},
		{hdr, claims("j", "POST", "http://127.0.0.1:9000/authorize", iat, ""), 0, 0, ""},
		{hdr, claims("k", "POST", tokenURL, iat-3600, ""), 0, 0, ""},
		{hdr, `{"jti":"l","htm":"POST","htu":"` + tokenURL + `"}`, 0, 0, ""},
		{`{"typ":"JWT","alg":"ES256","jwk":` + pub + `}`, claims("m", "POST", tokenURL, iat, ""), 0, 0, ""},
		{`{"typ":"dpop+jwt","alg":"ES256","jwk":` + jwk(&other.PublicKey) + `}`, claims("n", "POST", tokenURL, iat, ""), 0, 0, ""},
		{`{"typ":"dpop+jwt","alg":"ES256","jwk":` + jwk(key) + `}`, claims("o", "POST", tokenURL, iat, ""), 0, 0, ""},
		{`{"typ":"dpop+jwt","alg":"HS256","jwk":` + pub + `}`, claims("p", "POST", tokenURL, iat, ""), 0, 0, ""},
		{`{"typ":"dpop+jwt","alg":"none"}`, claims("q", "POST", tokenURL, iat, ""), 0, 0, ""},
		{`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"","y":""}}`, claims("r", "POST", tokenURL, iat, ""), 0, 0, ""},
		{`[]`, `null`, 0, 0, ""},
	} {
		f.Add([]byte(seed.hdr), []byte(seed.claims), seed.at, seed.xor, seed.token)
	}

	accepted := map[string]bool{}
	f.Fuzz(func(t *testing.T, header, payload []byte, tamperAt uint16, tamperXor byte, accessToken string) {
		proof := signES256(t, key, header, payload)
		if i := int(tamperAt); tamperXor != 0 && i < len(proof) {
			b := []byte(proof)
			b[i] ^= tamperXor
			proof = string(b)
		}
		r := httptest.NewRequest(http.MethodPost, tokenURL, nil)
		r.Header.Set("DPoP", proof)
		jkt, err := s.checkDPoP(httptest.NewRecorder(), r, accessToken)
		if err != nil {
			if jkt != "" {
				t.Fatalf("refused proof %q with thumbprint %q", proof, jkt)
			}
			return
		}
		if jkt != wantJKT {
			t.Fatalf("accepted proof %q with thumbprint %q; only the fuzz key %q signed it", proof, jkt, wantJKT)
		}
		h, c, ok := verifyES256(&key.PublicKey, proof)
		if !ok {
			t.Fatalf("accepted proof %q whose ES256 signature does not verify", proof)
		}
		if typ, _ := h["typ"].(string); typ != "dpop+jwt" || h["alg"] != "ES256" {
			t.Fatalf("accepted proof %q with header %v", proof, h)
		}
		jti, _ := c["jti"].(string)
		if c["htm"] != http.MethodPost || jti == "" {
			t.Fatalf("accepted proof %q for a POST with claims %v", proof, c)
		}
		if accepted[jti] {
			t.Fatalf("accepted proof %q replaying jti %q", proof, jti)
		}
		accepted[jti] = true
		if accessToken != "" {
			sum := sha256.Sum256([]byte(accessToken))
			if c["ath"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
				t.Fatalf("accepted proof %q for access token %q with ath %v", proof, accessToken, c["ath"])
			}
		}
	})
}

func sha256Sum(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// signES256 returns the JWS compact serialization of payload under the
// protected header, signed with ES256 (RFC 7515 section 7.1, RFC 7518
// section 3.4).
func signES256(t *testing.T, key *ecdsa.PrivateKey, header, payload []byte) string {
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(nil, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// verifyES256 checks proof's ES256 signature with pub over the header and
// payload it carries, written in canonical base64url, and returns the decoded
// header and claims.
func verifyES256(pub *ecdsa.PublicKey, proof string) (header, claims map[string]any, ok bool) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil, nil, false
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			return nil, nil, false
		}
		raw[i] = b
	}
	if len(raw[2]) != 64 {
		return nil, nil, false
	}
	digest := sha256.Sum256([]byte(b64(raw[0]) + "." + b64(raw[1])))
	r, s := new(big.Int).SetBytes(raw[2][:32]), new(big.Int).SetBytes(raw[2][32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return nil, nil, false
	}
	if json.Unmarshal(raw[0], &header) != nil || json.Unmarshal(raw[1], &claims) != nil {
		return nil, nil, false
	}
	return header, claims, true
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
