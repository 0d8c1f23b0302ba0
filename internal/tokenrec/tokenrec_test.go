package tokenrec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/tokenrec"
)

func TestRoundTrip(t *testing.T) {
	in := &pixie.Token{
		AccessToken:     pixie.NewSecret("at-ü"),
		TokenType:       "DPoP",
		RefreshToken:    pixie.NewSecret("rt"),
		IDToken:         pixie.NewSecret("id"),
		Expiry:          time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC),
		Lifetime:        90 * time.Second,
		Scope:           []string{"a", "b"},
		IssuedTokenType: pixie.TokenTypeAccessToken,
		Extra:           map[string]any{"n": 1.5, "o": map[string]any{"k": "v"}},
	}
	b, err := tokenrec.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tokenrec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.AccessToken.Reveal(), "at-ü"; got != want {
		t.Errorf("access token = %q, want %q", got, want)
	}
	if !out.RefreshToken.Equal(in.RefreshToken) || !out.IDToken.Equal(in.IDToken) {
		t.Error("refresh or ID token changed")
	}
	if !out.Expiry.Equal(in.Expiry) || out.Lifetime != in.Lifetime || out.TokenType != "DPoP" || strings.Join(out.Scope, " ") != "a b" {
		t.Errorf("decoded %v, want %v", out, in)
	}
	if out.IssuedTokenType != in.IssuedTokenType || out.Extra["n"] != 1.5 {
		t.Errorf("issued type %q extra %v", out.IssuedTokenType, out.Extra)
	}
}

func TestNoExpiry(t *testing.T) {
	b, err := tokenrec.Encode(&pixie.Token{AccessToken: pixie.NewSecret("x")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tokenrec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Expiry.IsZero() {
		t.Errorf("expiry = %v, want zero", out.Expiry)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{"", "{", "[]", `{"f":2,"at":"x"}`, `{"at":"x"}`} {
		if _, err := tokenrec.Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		} else if strings.Contains(err.Error(), `"x"`) {
			t.Errorf("Decode(%q) error quotes the record: %v", in, err)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := tokenrec.Encode(nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
	_, err := tokenrec.Encode(&pixie.Token{AccessToken: pixie.NewSecret("secret-bytes"), Extra: map[string]any{"f": func() {}}})
	if err == nil || strings.Contains(err.Error(), "secret-bytes") {
		t.Errorf("Encode with unencodable extra: %v", err)
	}
}
