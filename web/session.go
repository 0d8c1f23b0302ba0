package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/tokenrec"
)

// sessionFormat is the version of the session encoding, the first member of
// every record's Data. Format 1 kept the token as a nested document and the ID
// token twice; its sessions are refused, which signs their users out.
const sessionFormat = 2

// session is the plaintext of a Record: either a login in progress (Login set)
// or a signed-in user.
type session struct {
	Format   int       `json:"f"`
	Created  time.Time `json:"c"`
	LastSeen time.Time `json:"s"`
	Login    *pending  `json:"l,omitempty"`

	Provider string         `json:"p,omitempty"`
	Subject  string         `json:"sub,omitempty"`
	Name     string         `json:"n,omitempty"`
	Email    string         `json:"e,omitempty"`
	Claims   map[string]any `json:"cl,omitempty"`
	CSRF     string         `json:"x,omitempty"`
	// Token is the record of the user's token, parsed with the session, and
	// TokenVersion counts its changes, so that a refresh can tell whether a
	// peer refreshed first while other writes (the idle-time touch) only
	// change LastSeen. The token's ID token is the login's, kept for the
	// id_token_hint of RP-initiated logout: a refresh response without one
	// keeps the previous one.
	Token        *tokenrec.Record `json:"t,omitempty"`
	TokenVersion uint64           `json:"tv,omitempty"`

	// tok is Token as a pixie.Token, made once when the session is decoded
	// or its token set.
	tok *pixie.Token
}

// pending is a login between Login and Callback: what checks the
// authorization response and redeems its code (RFC 6749 section 4.1, RFC 7636).
type pending struct {
	Provider    string    `json:"p"`
	State       string    `json:"st"`
	Nonce       string    `json:"n,omitempty"`
	Verifier    string    `json:"v"`
	RedirectURL string    `json:"r"`
	Issuer      string    `json:"i,omitempty"`
	IssRequired bool      `json:"ir,omitempty"`
	Scopes      []string  `json:"sc,omitempty"`
	Created     time.Time `json:"c"`
	ReturnTo    string    `json:"rt"`
}

func pendingFrom(provider, returnTo string, ar *pixie.AuthRequest) *pending {
	return &pending{Provider: provider, State: ar.State, Nonce: ar.Nonce, Verifier: ar.Verifier.Reveal(),
		RedirectURL: ar.RedirectURL, Issuer: ar.Issuer, IssRequired: ar.IssRequired, Scopes: ar.Scopes,
		Created: ar.Created, ReturnTo: returnTo}
}

func (p *pending) authRequest() *pixie.AuthRequest {
	return &pixie.AuthRequest{State: p.State, Nonce: p.Nonce, Verifier: pixie.NewSecret(p.Verifier),
		RedirectURL: p.RedirectURL, Issuer: p.Issuer, IssRequired: p.IssRequired, Scopes: p.Scopes, Created: p.Created}
}

func (s *session) encode() ([]byte, error) {
	s.Format = sessionFormat
	b, err := json.Marshal(s)
	if err != nil {
		// Only claims and the token's extra fields can fail to encode; never
		// quote them.
		return nil, errors.New("web: the session's claims or token fields cannot be encoded")
	}
	return b, nil
}

func decodeSession(b []byte) (*session, error) {
	var s session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, errors.New("web: the stored session is not a session record")
	}
	if s.Format != sessionFormat {
		return nil, fmt.Errorf("web: session record format %d is not supported (this pixie reads format %d)", s.Format, sessionFormat)
	}
	if s.Token != nil {
		tok, err := s.Token.Token()
		if err != nil {
			return nil, err
		}
		s.tok = tok
	}
	return &s, nil
}

// setToken makes tok the session's token.
func (s *session) setToken(tok *pixie.Token) error {
	r, err := tokenrec.FromToken(tok)
	if err != nil {
		return err
	}
	s.Token, s.tok = r, tok
	s.TokenVersion++
	return nil
}

// idBytes is the size of a session id: 256 bits from crypto/rand.
const idBytes = 32

// newID returns a new session id for the cookie.
func newID() string {
	b := make([]byte, idBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// validID reports whether id has the form newID gives, so that the store is
// never asked about anything else a browser sends.
func validID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// SessionKey returns the [SessionStore] key of a session id (the value of the
// session cookie): its SHA-256 in hex, so that a dump of the store holds
// nothing a browser could present as a cookie.
func SessionKey(id string) string { return storeKey(id) }

func storeKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// subjectKey is the Record.Subject of a user: a hash of the provider and the
// user's subject at it, so that the store's index names no user.
func subjectKey(provider, subject string) string {
	h := sha256.New()
	h.Write([]byte("pixie web subject v1\x00"))
	h.Write([]byte(provider))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	return hex.EncodeToString(h.Sum(nil))
}
