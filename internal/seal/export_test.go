package seal

import "testing"

// KeyringBackend is the keyring interface FromKeyring and LoadOrCreateKeyring use.
type KeyringBackend = keyringBackend

// UseKeyringBackend makes the keyring functions use b until the test ends. Tests
// that call it must not run in parallel.
func UseKeyringBackend(tb testing.TB, b KeyringBackend) {
	tb.Helper()
	old := keyringStore
	keyringStore = b
	tb.Cleanup(func() { keyringStore = old })
}
