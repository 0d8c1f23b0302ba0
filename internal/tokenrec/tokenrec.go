// Package tokenrec encodes a pixie.Token, credentials included, as the plaintext of
// a store record. Stores seal the result (internal/seal) before it touches disk or
// the network; nothing else should call Encode.
package tokenrec

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pixieauth/pixie"
)

// format is the record format version, the first member of every record.
const format = 1

// Record is the stored form of a token. Stores that keep a token on its own
// use [Encode] and [Decode]; a record that embeds a token in a larger JSON
// document (a web session) holds a Record, so that the token is parsed once
// with the document.
type Record struct {
	Format          int            `json:"f"`
	AccessToken     string         `json:"at"`
	TokenType       string         `json:"tt,omitempty"`
	RefreshToken    string         `json:"rt,omitempty"`
	IDToken         string         `json:"it,omitempty"`
	Expiry          *time.Time     `json:"exp,omitempty"`
	Lifetime        time.Duration  `json:"lt,omitempty"`
	Scope           []string       `json:"sc,omitempty"`
	IssuedTokenType string         `json:"itt,omitempty"`
	Extra           map[string]any `json:"x,omitempty"`
}

// FromToken returns tok's record, with its credentials in the clear.
func FromToken(tok *pixie.Token) (*Record, error) {
	if tok == nil {
		return nil, errors.New("tokenrec: nil token")
	}
	r := &Record{
		Format:          format,
		AccessToken:     tok.AccessToken.Reveal(),
		TokenType:       tok.TokenType,
		RefreshToken:    tok.RefreshToken.Reveal(),
		IDToken:         tok.IDToken.Reveal(),
		Lifetime:        tok.Lifetime,
		Scope:           tok.Scope,
		IssuedTokenType: tok.IssuedTokenType,
		Extra:           tok.Extra,
	}
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC()
		r.Expiry = &e
	}
	return r, nil
}

// Token returns the token of r, which must be a record of this format.
func (r *Record) Token() (*pixie.Token, error) {
	if r.Format != format {
		return nil, fmt.Errorf("tokenrec: record format %d is not supported (this pixie reads format %d)", r.Format, format)
	}
	tok := &pixie.Token{
		AccessToken:     pixie.NewSecret(r.AccessToken),
		TokenType:       r.TokenType,
		RefreshToken:    pixie.NewSecret(r.RefreshToken),
		IDToken:         pixie.NewSecret(r.IDToken),
		Lifetime:        r.Lifetime,
		Scope:           r.Scope,
		IssuedTokenType: r.IssuedTokenType,
		Extra:           r.Extra,
	}
	if r.Expiry != nil {
		tok.Expiry = *r.Expiry
	}
	return tok, nil
}

// Encode returns tok's record, with its credentials in the clear.
func Encode(tok *pixie.Token) ([]byte, error) {
	r, err := FromToken(tok)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		// Only Extra can fail to encode; never quote it.
		return nil, errors.New("tokenrec: token has extra fields that cannot be encoded")
	}
	return b, nil
}

// Decode parses a record made by Encode.
func Decode(b []byte) (*pixie.Token, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, errors.New("tokenrec: record is not a token record")
	}
	return r.Token()
}
