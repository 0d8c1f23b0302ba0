package seal

import (
	"errors"
	"fmt"
)

// SharedKeys returns the keys a store's options gave (given, or givenErr when
// they were malformed), or, when they gave none, the keys in the environment
// variable [EnvVar]. It serves the stores that replicas on several machines
// share: they must all hold the same keys, so none is ever generated, and the
// error for a missing key wraps [ErrNoKey] and says how to make one. Errors
// never show key material.
func SharedKeys(given *KeySet, givenErr error) (*KeySet, error) {
	if given == nil && givenErr == nil {
		given, givenErr = FromEnv(EnvVar)
		if errors.Is(givenErr, ErrNoKey) {
			return nil, fmt.Errorf("no sealing key: set %s to a 32-byte key in base64 (the same on every replica; for example from `openssl rand -base64 32`) or pass WithKeys: %w", EnvVar, givenErr)
		}
	}
	if givenErr != nil {
		return nil, fmt.Errorf("sealing keys: %w", givenErr)
	}
	return given, nil
}
