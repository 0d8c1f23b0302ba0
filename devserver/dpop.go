package devserver

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/pixieauth/pixie"
)

// dpopClaims are the claims of a DPoP proof (RFC 9449 section 4.2).
type dpopClaims struct {
	ID       string           `json:"jti"`
	Method   string           `json:"htm"`
	URI      string           `json:"htu"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	Nonce    string           `json:"nonce"`
	ATH      string           `json:"ath"`
}

// dpopMaxAge is how old a proof's iat may be; proofs are remembered this long to
// refuse replays.
const dpopMaxAge = 5 * time.Minute

func dpopAlgNames() []string {
	names := make([]string, len(asymmetricAlgs))
	for i, a := range asymmetricAlgs {
		names[i] = string(a)
	}
	return names
}

// checkDPoP verifies the request's DPoP proof, if it has one, and returns the JWK
// SHA-256 thumbprint of its key (RFC 9449 section 4.3), or "" without a proof.
// accessToken is the token a proof sent to a protected resource must hash in ath;
// it is "" at the token endpoint, where the server nonce is demanded when
// [Options.RequireDPoPNonce] is set.
func (s *Server) checkDPoP(w http.ResponseWriter, r *http.Request, accessToken string) (string, error) {
	proofs := r.Header.Values("DPoP")
	if len(proofs) == 0 {
		return "", nil
	}
	bad := func(format string, args ...any) (string, error) {
		return "", oauthError(pixie.ErrInvalidDPoPProof, format, args...)
	}
	if len(proofs) > 1 {
		return bad("more than one DPoP header")
	}
	tok, err := jwt.ParseSigned(proofs[0], asymmetricAlgs)
	if err != nil {
		return bad("the DPoP proof is not a JWT signed with an asymmetric algorithm")
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return bad("the DPoP proof typ must be dpop+jwt")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return bad("the DPoP proof must carry a public jwk header")
	}
	var c dpopClaims
	if err := tok.Claims(h.JSONWebKey.Key, &c); err != nil {
		return bad("the DPoP proof signature does not verify with its jwk")
	}
	if c.Method != r.Method {
		return bad("htm is %s, the request method is %s", c.Method, r.Method)
	}
	if want := s.url(r.URL.Path); normalizeHTU(c.URI) != normalizeHTU(want) {
		return bad("htu must be %s", want)
	}
	now := s.now()
	if c.IssuedAt == nil || now.Sub(c.IssuedAt.Time()) > dpopMaxAge || c.IssuedAt.Time().Sub(now) > clockLeeway {
		return bad("the DPoP proof iat is missing or too far from the server time")
	}
	if c.ID == "" {
		return bad("the DPoP proof has no jti")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return bad("ath does not match the access token")
		}
	} else if s.opts.RequireDPoPNonce && c.Nonce != s.dpopNonce {
		w.Header().Set("DPoP-Nonce", s.dpopNonce)
		return "", oauthError(pixie.ErrUseDPoPNonce, "the authorization server requires a nonce in DPoP proofs")
	}
	tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("the DPoP key has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	if !s.useOnce("dpop:"+jkt+":"+c.ID, c.IssuedAt.Time().Add(dpopMaxAge+clockLeeway), now) {
		return bad("the DPoP proof jti was already used")
	}
	if s.opts.RequireDPoPNonce && accessToken == "" {
		w.Header().Set("DPoP-Nonce", s.dpopNonce)
	}
	return jkt, nil
}

// normalizeHTU returns the scheme, host and path of an htu or request URI for
// comparison (RFC 9449 section 4.3): query and fragment dropped, scheme and host
// lowercased, a default port removed and an empty path made "/" (RFC 3986
// sections 6.2.2 and 6.2.3). It returns "" for a URI that is not absolute http(s).
func normalizeHTU(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && !(u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443") {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return u.Scheme + "://" + host + path
}
