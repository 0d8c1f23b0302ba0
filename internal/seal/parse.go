package seal

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// EnvVar is the environment variable pixie reads store keys from.
const EnvVar = "PIXIE_STORE_KEY"

// ParseKeySet parses one or more keys separated by commas or white space (spaces,
// tabs, newlines). The first key is the current one; the others are older keys kept
// to open records sealed before a rotation. To rotate, put a new key first:
//
//	PIXIE_STORE_KEY=<new key>,<old key>
//
// Each key is 32 bytes written as base64 (standard or URL alphabet, padded or
// not: 43 or 44 characters) or hex (64 characters). Errors say which key of the
// list is wrong and why, never what it contains. A text with no keys at all is an
// error wrapping [ErrNoKey].
func ParseKeySet(text string) (*KeySet, error) {
	ks, err := parseKeys(text)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return ks, nil
}

// parseKeys is [ParseKeySet] with errors that the caller prefixes with where the
// text came from.
func parseKeys(text string) (*KeySet, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no key in the text", ErrNoKey)
	}
	keys := make([]Key, len(fields))
	for i, f := range fields {
		k, err := parseKey(f)
		if err != nil {
			if len(fields) == 1 {
				return nil, err
			}
			return nil, fmt.Errorf("key %d of %d: %w", i+1, len(fields), err)
		}
		keys[i] = k
	}
	return NewKeySet(keys[0], keys[1:]...)
}

// parseKey decodes one key. The lengths of the accepted encodings of 32 bytes
// (hex 64, base64 44 padded or 43 unpadded) differ, so the length picks the
// decoder and no text is read two ways.
func parseKey(s string) (Key, error) {
	var (
		b   []byte
		err error
	)
	switch len(s) {
	case hex.EncodedLen(KeySize):
		b, err = hex.DecodeString(s)
		if err != nil {
			return Key{}, fmt.Errorf("%w: 64 characters but not hex", ErrInvalidKey)
		}
	case base64.StdEncoding.EncodedLen(KeySize), base64.RawStdEncoding.EncodedLen(KeySize):
		enc := base64.StdEncoding
		if strings.ContainsAny(s, "-_") {
			enc = base64.URLEncoding
		}
		if !strings.HasSuffix(s, "=") {
			enc = enc.WithPadding(base64.NoPadding)
		}
		b, err = enc.Strict().DecodeString(s)
		if err != nil || len(b) != KeySize {
			return Key{}, fmt.Errorf("%w: %d characters but not base64 of %d bytes", ErrInvalidKey, len(s), KeySize)
		}
	default:
		return Key{}, fmt.Errorf("%w: %d characters; want %d bytes as base64 (43 or 44 characters) or hex (64 characters), e.g. from `openssl rand -base64 32`",
			ErrInvalidKey, len(s), KeySize)
	}
	return NewKey(b)
}

// FromEnv reads keys from the environment variable name (normally [EnvVar]) in
// the format of [ParseKeySet]. An unset or empty variable is an error wrapping
// [ErrNoKey], so a caller can move on to the next key source; a variable that is
// set but malformed is an error naming the variable, never showing its value.
func FromEnv(name string) (*KeySet, error) {
	v := os.Getenv(name)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("seal: %w: environment variable %s is not set", ErrNoKey, name)
	}
	ks, err := parseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("seal: environment variable %s: %w", name, err)
	}
	return ks, nil
}
