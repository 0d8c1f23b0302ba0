package cli

import (
	"fmt"
	"maps"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/dpop"
)

// dpopKeyExtra names, in a stored token's Extra, the private JWK (RFC 7517) of
// the DPoP key the token is bound to (RFC 9449). It is sealed in the store with
// the tokens, never printed, and carried over to every renewal, whose proofs
// must be signed with the same key: the server binds the refresh token to it
// (RFC 9449 section 5).
const dpopKeyExtra = "pixie_cli_dpop_key"

// tokenDPoPKey returns the DPoP key stored with tok, or nil when tok is not
// bound to one.
func tokenDPoPKey(tok *pixie.Token) (*dpop.Key, error) {
	if tok == nil {
		return nil, nil
	}
	jwk, _ := tok.Extra[dpopKeyExtra].(string)
	if jwk == "" {
		return nil, nil
	}
	k, err := dpop.UnmarshalPrivateJWK([]byte(jwk))
	if err != nil {
		return nil, fmt.Errorf("the DPoP key stored with the token cannot be read: %w\nLog in again to replace it", err)
	}
	return k, nil
}

// withDPoPKey returns tok with key stored in its Extra (see [dpopKeyExtra]);
// tok itself is not changed. A nil key leaves tok as it is.
func withDPoPKey(tok *pixie.Token, key *dpop.Key) (*pixie.Token, error) {
	if key == nil || tok == nil {
		return tok, nil
	}
	jwk, err := key.MarshalPrivateJWK()
	if err != nil {
		return nil, err
	}
	t := *tok
	t.Extra = maps.Clone(tok.Extra)
	if t.Extra == nil {
		t.Extra = map[string]any{}
	}
	t.Extra[dpopKeyExtra] = string(jwk)
	return &t, nil
}

// boundJKT returns the thumbprint (RFC 7638) of the DPoP key stored with tok,
// the jkt its tokens are bound to (RFC 9449 section 6), or "".
func boundJKT(tok *pixie.Token) string {
	k, err := tokenDPoPKey(tok)
	if err != nil || k == nil {
		return ""
	}
	return k.Thumbprint()
}

// newDPoPKey sets up cfg as settings s ask for a login: pushed authorization
// requests (RFC 9126) with PAR, and with DPoP a new key, which it returns, to
// bind the tokens to (RFC 9449 section 5).
func (s Settings) newDPoPKey(cfg *pixie.Config) (*dpop.Key, error) {
	cfg.UsePAR = cfg.UsePAR || s.PAR
	if !s.DPoP {
		return nil, nil
	}
	key, err := dpop.NewKey()
	if err != nil {
		return nil, err
	}
	cfg.DPoP = key
	return key, nil
}

// prover returns the session's DPoP key as a prover, or nil (not a nil
// *dpop.Key in an interface) when its tokens are not DPoP-bound.
func (se *session) prover() pixie.DPoPProver {
	if se.dpop == nil {
		return nil
	}
	return se.dpop
}

// binding describes, in the status table, the DPoP key the tokens are bound
// to, or nothing for bearer tokens.
func (ps profileStatus) binding() string {
	if ps.DPoPJKT == "" {
		return ""
	}
	return ", DPoP jkt " + ps.DPoPJKT
}
