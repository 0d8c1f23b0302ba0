package seal

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultKeyringTimeout bounds each OS keyring call when the caller passes a
// timeout of 0 or less.
const DefaultKeyringTimeout = 5 * time.Second

var (
	// ErrKeyringUnavailable means the OS keyring could not be used (no Secret Service
	// or session bus, locked keychain, access denied, or no answer in time).
	ErrKeyringUnavailable = errors.New("OS keyring unavailable")
	// ErrKeyringTimeout means a keyring call did not return within its timeout. It
	// always comes with [ErrKeyringUnavailable].
	ErrKeyringTimeout = errors.New("no answer in time")
)

// keyringBackend is the part of go-keyring pixie uses; tests replace it.
type keyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
}

// osKeyring is the operating system's keyring through go-keyring (Secret Service
// over D-Bus, macOS Keychain, Windows Credential Manager).
type osKeyring struct{}

func (osKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (osKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}

// keyringStore is the backend used by [FromKeyring] and [LoadOrCreateKeyring].
var keyringStore keyringBackend = osKeyring{}

// FromKeyring reads keys from the OS keyring entry (service, user), in the format
// of [ParseKeySet]. The call is abandoned after timeout ([DefaultKeyringTimeout]
// if timeout <= 0): keyring calls can block forever, for example on Linux with no
// session bus. An abandoned call keeps its goroutine until the keyring returns.
//
// A missing entry is an error wrapping [ErrNoKey]; a keyring that fails or does
// not answer is an error wrapping [ErrKeyringUnavailable] (and
// [ErrKeyringTimeout]); an entry that holds no valid key is an error wrapping
// [ErrInvalidKey].
func FromKeyring(service, user string, timeout time.Duration) (*KeySet, error) {
	backend := keyringStore
	v, err := withTimeout(timeout, func() (string, error) { return backend.Get(service, user) })
	where := fmt.Sprintf("OS keyring entry (service %q, user %q)", service, user)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return nil, fmt.Errorf("seal: %w: no %s", ErrNoKey, where)
	case err != nil:
		return nil, fmt.Errorf("seal: read %s: %w", where, err)
	}
	ks, err := parseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", where, err)
	}
	return ks, nil
}

// LoadOrCreateKeyring reads keys like [FromKeyring] or, if the entry does not
// exist, stores a new random key there and reports created. Each keyring call is
// bounded by timeout.
//
// A keyring cannot create an entry only if it is missing, so after storing the key
// LoadOrCreateKeyring reads the entry back and returns what is there: when two
// processes race, both normally end up with the key written last. created is true
// only if that is the key this call generated.
func LoadOrCreateKeyring(service, user string, timeout time.Duration) (ks *KeySet, created bool, err error) {
	ks, err = FromKeyring(service, user, timeout)
	if !errors.Is(err, ErrNoKey) {
		return ks, false, err
	}
	key, err := GenerateKey()
	if err != nil {
		return nil, false, err
	}
	backend := keyringStore
	_, err = withTimeout(timeout, func() (struct{}, error) {
		return struct{}{}, backend.Set(service, user, key.Reveal())
	})
	if err != nil {
		return nil, false, fmt.Errorf("seal: store new key in OS keyring entry (service %q, user %q): %w", service, user, err)
	}
	ks, err = FromKeyring(service, user, timeout)
	if err != nil {
		return nil, false, err
	}
	return ks, ks.Current() == key.ID(), nil
}

// withTimeout runs f in a goroutine and gives up after timeout. Errors from f are
// wrapped with [ErrKeyringUnavailable], except keyring.ErrNotFound, which is
// returned as is.
func withTimeout[T any](timeout time.Duration, f func() (T, error)) (T, error) {
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned call must not block forever
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var zero T
	select {
	case r := <-done:
		if r.err != nil && !errors.Is(r.err, keyring.ErrNotFound) {
			return zero, fmt.Errorf("%w: %w", ErrKeyringUnavailable, r.err)
		}
		return r.v, r.err
	case <-t.C:
		return zero, fmt.Errorf("%w: %w (waited %v; is a Secret Service running on a session bus? set %s or use a key file instead)",
			ErrKeyringUnavailable, ErrKeyringTimeout, timeout, EnvVar)
	}
}
