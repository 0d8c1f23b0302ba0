// Package seal encrypts pixie's token records at rest with AES-256-GCM (NIST SP
// 800-38D) and loads the keys that do it from the environment, the OS keyring or a
// key file.
//
// A [KeySet] holds one current key, used to seal new records, and any number of
// older keys, used only to open records sealed before a rotation. Every sealed blob
// is a self-describing envelope:
//
//	offset  size  field
//	0       1     version, 0x01
//	1       8     key id (see [KeyID])
//	9       12    nonce, random from crypto/rand
//	21      n+16  AES-256-GCM ciphertext of the n-byte plaintext, then the tag
//
// The GCM additional data is the 9-byte header (version and key id) followed by the
// caller's associated data. Stores pass the record's own key (for example the
// token's store key) as associated data, so a blob copied into another record does
// not open there.
//
// Nonces are random, so one key seals at most about 2^32 records before the
// chance of a repeated nonce becomes a concern (SP 800-38D section 8.3); rotate
// keys long before that.
//
// Keys come from the environment variable PIXIE_STORE_KEY ([FromEnv]), the OS
// keyring ([FromKeyring], [LoadOrCreateKeyring]) or a key file ([FromFile],
// [LoadOrCreateFile]); a [Resolver] tries them in that order and reports which one
// it used. All three hold the same text: keys in base64 or hex, separated by commas
// or new lines, the current key first ([ParseKeySet]). To rotate, put a new key
// first and keep the old ones after it until every record has been re-sealed with
// [KeySet.Reseal].
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Errors returned by [KeySet.Open] and the key sources. They are wrapped with
// details; compare with errors.Is.
var (
	// ErrTruncated means the blob is shorter than an envelope can be.
	ErrTruncated = errors.New("sealed data is truncated")
	// ErrVersion means the blob's version byte is not one this pixie understands.
	ErrVersion = errors.New("unsupported envelope version")
	// ErrUnknownKey means the blob was sealed with a key that is not in the KeySet,
	// typically after the key was rotated out or replaced.
	ErrUnknownKey = errors.New("sealed with a key that is not configured")
	// ErrCorrupt means authentication failed. The blob was modified, or it belongs to
	// another record (its associated data differs).
	ErrCorrupt = errors.New("sealed data is corrupt or belongs to another record")
	// ErrInvalidKey means a key is not 32 bytes of base64 or hex.
	ErrInvalidKey = errors.New("invalid key")
	// ErrNoKey means a key source holds no key (unset variable, missing file, no keyring
	// entry), or a KeySet is nil.
	ErrNoKey = errors.New("no key")
)

// Envelope layout; see the package documentation.
const (
	version1   = 0x01
	idSize     = 8
	nonceSize  = 12
	tagSize    = 16
	headerSize = 1 + idSize
	// Overhead is how many bytes [KeySet.Seal] adds to the plaintext.
	Overhead = headerSize + nonceSize + tagSize
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

// keyIDDomain separates key-id hashing from any other use of SHA-256 on a key.
const keyIDDomain = "pixie seal key id v1\x00"

// KeyID identifies a key inside a sealed blob: the first 8 bytes of
// SHA-256("pixie seal key id v1" || 0x00 || key). It is derived from the key, so
// the same key always has the same id wherever it is loaded from and no id needs
// to be stored with it. Revealing it reveals nothing usable about the key.
type KeyID [idSize]byte

// String returns the id in lowercase hex (16 characters), the form stores keep
// beside each record and `pixie status` shows.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// Key is one AES-256 key. Its value is never shown: fmt verbs, log/slog,
// encoding/json and encoding.TextMarshaler all print a redacted form that names
// only its [KeyID]. The zero Key holds no key and cannot seal. Keys are not
// comparable with ==; compare their IDs.
//
// Keys are immutable and safe for concurrent use.
type Key struct {
	// d returns the key's data; nil for the zero Key. It is a func rather than a
	// pointer because fmt prints a func as an address wherever it sits, while it
	// follows a pointer found in another value's unexported field (where it cannot
	// call Format) and prints what it points to, for example for %s or %q.
	d func() *keyData
}

type keyData struct {
	raw  [KeySize]byte
	id   KeyID
	aead cipher.AEAD
}

// NewKey returns the key made of b, which must be [KeySize] bytes. b is copied.
func NewKey(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("seal: %w: got %d bytes, want %d", ErrInvalidKey, len(b), KeySize)
	}
	d := &keyData{}
	copy(d.raw[:], b)
	sum := sha256.Sum256(append([]byte(keyIDDomain), b...))
	copy(d.id[:], sum[:idSize])
	block, err := aes.NewCipher(d.raw[:])
	if err != nil {
		return Key{}, fmt.Errorf("seal: %w", err)
	}
	if d.aead, err = cipher.NewGCM(block); err != nil {
		return Key{}, fmt.Errorf("seal: %w", err)
	}
	return Key{d: func() *keyData { return d }}, nil
}

// GenerateKey returns a new random key from crypto/rand.
func GenerateKey() (Key, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return Key{}, fmt.Errorf("seal: generate key: %w", err)
	}
	return NewKey(b)
}

// ID returns the key's id, or the zero KeyID for the zero Key.
func (k Key) ID() KeyID {
	if k.d == nil {
		return KeyID{}
	}
	return k.d().id
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return k.d == nil }

// Reveal returns the key in padded standard base64, the form [ParseKeySet] and
// every key source read. Call it only to store the key (key file, OS keyring) or
// to show it once to a user who asked for it.
func (k Key) Reveal() string {
	if k.d == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(k.d().raw[:])
}

// String returns a redacted form that names the key id.
func (k Key) String() string {
	if k.d == nil {
		return "[no key]"
	}
	return "[redacted key " + k.ID().String() + "]"
}

// GoString returns a redacted Go-syntax form, so %#v shows no key bytes.
func (k Key) GoString() string {
	if k.d == nil {
		return "seal.Key{}"
	}
	return "seal.Key{id: " + k.ID().String() + ", [redacted]}"
}

// Format implements fmt.Formatter: every verb, %x and %q included, prints the
// redacted form.
func (k Key) Format(f fmt.State, verb rune) { formatRedacted(f, verb, k) }

// LogValue implements slog.LogValuer.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON encodes the redacted form.
func (k Key) MarshalJSON() ([]byte, error) { return []byte(`"` + k.String() + `"`), nil }

// MarshalText encodes the redacted form.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// redactor is implemented by the types that print themselves redacted.
type redactor interface {
	String() string
	GoString() string
}

func formatRedacted(f fmt.State, verb rune, r redactor) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, r.GoString())
		return
	}
	fmt.Fprint(f, r.String())
}

// KeySet is the keys a store seals and opens with: the current key, which seals
// every new record, and older keys, which only open records sealed before a
// rotation. A KeySet is immutable and safe for concurrent use; [KeySet.Rotate]
// returns a new one. Like [Key], it prints only key ids.
type KeySet struct {
	current Key
	keys    []Key // current first, then older keys in the order given, no duplicates
}

// NewKeySet returns a KeySet that seals with current and also opens records sealed
// with any of older. Keys repeated (by id) are kept once.
func NewKeySet(current Key, older ...Key) (*KeySet, error) {
	if current.IsZero() {
		return nil, fmt.Errorf("seal: %w: the current key is the zero Key", ErrNoKey)
	}
	s := &KeySet{current: current}
	for _, k := range append([]Key{current}, older...) {
		if k.IsZero() {
			return nil, fmt.Errorf("seal: %w: an older key is the zero Key", ErrNoKey)
		}
		if s.lookup(k.ID()).IsZero() {
			s.keys = append(s.keys, k)
		}
	}
	return s, nil
}

// lookup returns the key with id, or the zero Key. Sets hold a handful of keys, so
// a scan beats a map.
func (s *KeySet) lookup(id KeyID) Key {
	for _, k := range s.keys {
		if k.ID() == id {
			return k
		}
	}
	return Key{}
}

// Current returns the id of the key that seals new records.
func (s *KeySet) Current() KeyID {
	if s == nil {
		return KeyID{}
	}
	return s.current.ID()
}

// IDs returns the ids of all keys, the current one first.
func (s *KeySet) IDs() []KeyID {
	if s == nil {
		return nil
	}
	ids := make([]KeyID, len(s.keys))
	for i, k := range s.keys {
		ids[i] = k.ID()
	}
	return ids
}

// Rotate returns a new KeySet that seals with next and still opens everything s
// opens. s is unchanged.
func (s *KeySet) Rotate(next Key) (*KeySet, error) {
	if s == nil {
		return NewKeySet(next)
	}
	return NewKeySet(next, s.keys...)
}

// Seal encrypts plaintext with the current key, bound to associatedData, and
// returns the envelope described in the package documentation. It is
// len(plaintext)+[Overhead] bytes long. The associated data is authenticated, not
// stored: [KeySet.Open] needs the same bytes.
func (s *KeySet) Seal(plaintext, associatedData []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("seal: %w: seal with a nil KeySet", ErrNoKey)
	}
	d := s.current.d()
	out := make([]byte, headerSize+nonceSize, len(plaintext)+Overhead)
	out[0] = version1
	copy(out[1:headerSize], d.id[:])
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return d.aead.Seal(out, nonce, plaintext, additionalData(out[:headerSize], associatedData)), nil
}

// additionalData is the GCM additional data: the fixed-size header, then the
// caller's associated data. The header has a fixed size, so the split is
// unambiguous.
func additionalData(header, associatedData []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(associatedData)), header...), associatedData...)
}

// Open decrypts a blob made by [KeySet.Seal] with the same associatedData. It
// returns an error wrapping [ErrTruncated], [ErrVersion], [ErrUnknownKey] or
// [ErrCorrupt] when sealed cannot be opened; it never panics on bad input.
func (s *KeySet) Open(sealed, associatedData []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("seal: %w: open with a nil KeySet", ErrNoKey)
	}
	id, err := KeyIDOf(sealed)
	if err != nil {
		return nil, err
	}
	k := s.lookup(id)
	if k.IsZero() {
		return nil, &UnknownKeyError{ID: id, Configured: s.IDs()}
	}
	nonce := sealed[headerSize : headerSize+nonceSize]
	plain, err := k.d().aead.Open(nil, nonce, sealed[headerSize+nonceSize:], additionalData(sealed[:headerSize], associatedData))
	if err != nil {
		return nil, fmt.Errorf("seal: %w (key id %s)", ErrCorrupt, id)
	}
	return plain, nil
}

// UnknownKeyError is the error of [KeySet.Open] for a blob sealed with a key the
// KeySet does not hold. It matches [ErrUnknownKey] with errors.Is; errors.As
// gives the id of the key needed, for example for `pixie status` to show.
type UnknownKeyError struct {
	// ID is the id of the key that sealed the blob.
	ID KeyID
	// Configured are the ids of the keys the KeySet holds, the current one first.
	Configured []KeyID
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("seal: %v: key id %s (configured: %s)", ErrUnknownKey, e.ID, joinIDs(e.Configured))
}

// Is reports whether target is [ErrUnknownKey].
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

func joinIDs(ids []KeyID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}

// KeyIDOf returns the id of the key that sealed a blob, so a store can find records
// to re-seal after a rotation. It checks the envelope's version and length only;
// it does not authenticate the blob.
func KeyIDOf(sealed []byte) (KeyID, error) {
	if len(sealed) == 0 {
		return KeyID{}, fmt.Errorf("seal: %w: empty", ErrTruncated)
	}
	if sealed[0] != version1 {
		return KeyID{}, fmt.Errorf("seal: %w: got version 0x%02x, want 0x%02x (sealed by a newer pixie, or not sealed data)", ErrVersion, sealed[0], version1)
	}
	if len(sealed) < Overhead {
		return KeyID{}, fmt.Errorf("seal: %w: %d bytes, an envelope has at least %d", ErrTruncated, len(sealed), Overhead)
	}
	return KeyID(sealed[1:headerSize]), nil
}

// Reseal opens sealed and, unless the current key sealed it, seals it again with
// the current key. It reports whether the blob changed, so a store rewrites only
// those records. The associated data is unchanged.
func (s *KeySet) Reseal(sealed, associatedData []byte) (out []byte, changed bool, err error) {
	plain, err := s.Open(sealed, associatedData)
	if err != nil {
		return nil, false, err
	}
	if KeyID(sealed[1:headerSize]) == s.Current() {
		return sealed, false, nil
	}
	out, err = s.Seal(plain, associatedData)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// String returns a summary naming the key ids, never key bytes.
func (s *KeySet) String() string {
	if s == nil {
		return "seal.KeySet(nil)"
	}
	return fmt.Sprintf("seal.KeySet{current: %s, keys: %d}", s.Current(), len(s.keys))
}

// GoString is [KeySet.String], so %#v shows no key bytes either.
func (s *KeySet) GoString() string { return s.String() }

// Format implements fmt.Formatter with the redacted form for every verb.
func (s *KeySet) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s) }

// LogValue implements slog.LogValuer.
func (s *KeySet) LogValue() slog.Value { return slog.StringValue(s.String()) }
