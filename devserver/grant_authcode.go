package devserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/pixieauth/pixie"
)

// codeRecord is an issued authorization code.
type codeRecord struct {
	grantInfo
	redirectURI   string
	redirectGiven bool
	challenge     string
	nonce         string
	dpopJKT       string
	expiry        time.Time
	used          bool
}

// codeVerifierRE is a PKCE code_verifier (RFC 7636 section 4.1).
var codeVerifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// grantAuthorizationCode redeems an authorization code (RFC 6749 section 4.1.3)
// with its PKCE verifier (RFC 7636 section 4.6). A code is single use: presenting
// it again revokes every token issued from it (RFC 6749 section 4.1.2).
func (s *Server) grantAuthorizationCode(r *http.Request, form url.Values, c *Client, jkt string) (*tokenResponse, error) {
	code := form.Get("code")
	if code == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "code is missing")
	}
	verifier := form.Get("code_verifier")
	if verifier == "" {
		return nil, oauthError(pixie.ErrInvalidRequest, "code_verifier is missing (PKCE is required)")
	}
	now := s.now()
	s.mu.Lock()
	rec, ok := s.codes[tokenKey(code)]
	var err error
	switch {
	case !ok:
		err = oauthError(pixie.ErrInvalidGrant, "unknown authorization code")
	case rec.clientID != c.ID:
		err = oauthError(pixie.ErrInvalidGrant, "the code was issued to another client")
	case rec.used:
		s.revokeFamilyLocked(rec.family)
		err = oauthError(pixie.ErrInvalidGrant, "the code was already used; the tokens issued from it are revoked")
	}
	if ok && rec.clientID == c.ID {
		rec.used = true
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	switch {
	case !now.Before(rec.expiry):
		return nil, oauthError(pixie.ErrInvalidGrant, "the authorization code expired")
	case rec.redirectGiven && form.Get("redirect_uri") != rec.redirectURI,
		!rec.redirectGiven && form.Has("redirect_uri") && form.Get("redirect_uri") != rec.redirectURI:
		return nil, oauthError(pixie.ErrInvalidGrant, "redirect_uri differs from the authorization request")
	case !codeVerifierRE.MatchString(verifier) || !s256Matches(verifier, rec.challenge):
		return nil, oauthError(pixie.ErrInvalidGrant, "code_verifier does not match the code_challenge")
	case rec.dpopJKT != "" && rec.dpopJKT != jkt:
		return nil, oauthError(pixie.ErrInvalidDPoPProof, "the DPoP key differs from the dpop_jkt of the authorization request")
	}
	g := rec.grantInfo
	g.jkt = jkt
	requested, err := checkResources(form)
	if err == nil {
		g.audience, err = resourceAudience(requested, g.audience)
	}
	if err != nil {
		return nil, err
	}
	return s.issueTokens(g, true, rec.nonce)
}

// s256Matches reports whether BASE64URL(SHA256(verifier)) is challenge.
func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
