package seal

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Resolver finds a store's keys. It looks in a fixed order and uses the first
// source that holds a key:
//
//  1. the environment variable Env ([FromEnv]),
//  2. the OS keyring entry (KeyringService, KeyringUser) ([FromKeyring]),
//  3. the key file File ([FromFile]).
//
// A source whose field is empty is skipped. A source that holds something
// unusable (a malformed variable, an invalid keyring entry, a key file readable by
// others) stops the search with its error rather than falling through to another
// key, which would leave every stored record unreadable. A keyring that fails or
// does not answer is skipped and recorded in [Source.Skipped].
//
// Only when no source holds a key, and Create is set, Resolve creates one: in the
// keyring if it is configured and answered, otherwise in the key file. Every
// source is read before anything is created, so a key file made while the
// keyring was unreachable keeps being used once the keyring is back. The opposite
// case cannot be told apart from a first run: if the keyring holds the key but does
// not answer and File is set, a new key file is created, and records sealed with
// the keyring's key fail with [ErrUnknownKey] until the keyring answers again.
//
// The zero Resolver skips every source. A Resolver is a plain value, safe to copy
// and to use concurrently.
type Resolver struct {
	// Env is the environment variable to read, normally [EnvVar]. Empty skips it.
	Env string
	// KeyringService and KeyringUser name the OS keyring entry. An empty
	// KeyringService skips the keyring.
	KeyringService, KeyringUser string
	// KeyringTimeout bounds each keyring call; 0 means [DefaultKeyringTimeout].
	KeyringTimeout time.Duration
	// File is the key file's path. Empty skips it.
	File string
	// Create makes Resolve create a key when no source holds one.
	Create bool
}

// SourceKind names a kind of key source.
type SourceKind string

// The key sources a [Resolver] reads, in its order.
const (
	SourceEnv     SourceKind = "env"
	SourceKeyring SourceKind = "keyring"
	SourceFile    SourceKind = "file"
)

// Source reports where [Resolver.Resolve] found or created the keys, for
// `pixie status`. It never holds key material.
type Source struct {
	// Kind is the source used; empty when Resolve failed.
	Kind SourceKind
	// Name identifies it: the variable name, "service/user" for the keyring, or the
	// key file's path.
	Name string
	// Created reports that Resolve generated the key just now.
	Created bool
	// Skipped holds the errors of sources that were tried but could not be used,
	// such as a keyring that did not answer.
	Skipped []error
}

// String describes the source, for example `key file /home/ada/.config/pixie/store.key (created)`.
func (s Source) String() string {
	var d string
	switch s.Kind {
	case SourceEnv:
		d = "environment variable " + s.Name
	case SourceKeyring:
		d = "OS keyring entry " + s.Name
	case SourceFile:
		d = "key file " + s.Name
	default:
		return "no key source"
	}
	if s.Created {
		d += " (created)"
	}
	return d
}

// Resolve returns the keys from the first source that holds them, and which
// source that was. When there are none (and Create is false, or nowhere to create
// them), the error wraps [ErrNoKey] and lists the sources tried.
func (r Resolver) Resolve() (*KeySet, Source, error) {
	var (
		skipped   []error
		tried     []string
		keyringUp bool
	)
	found := func(ks *KeySet, kind SourceKind, name string, created bool) (*KeySet, Source, error) {
		return ks, Source{Kind: kind, Name: name, Created: created, Skipped: skipped}, nil
	}
	failed := func(err error) (*KeySet, Source, error) {
		return nil, Source{Skipped: skipped}, err
	}
	keyringName := r.KeyringService + "/" + r.KeyringUser

	if r.Env != "" {
		tried = append(tried, "environment variable "+r.Env)
		ks, err := FromEnv(r.Env)
		if err == nil {
			return found(ks, SourceEnv, r.Env, false)
		}
		if !errors.Is(err, ErrNoKey) {
			return failed(err)
		}
	}
	if r.KeyringService != "" {
		tried = append(tried, "OS keyring entry "+keyringName)
		ks, err := FromKeyring(r.KeyringService, r.KeyringUser, r.KeyringTimeout)
		switch {
		case err == nil:
			return found(ks, SourceKeyring, keyringName, false)
		case errors.Is(err, ErrNoKey):
			keyringUp = true
		case errors.Is(err, ErrKeyringUnavailable):
			skipped = append(skipped, err)
		default:
			return failed(err)
		}
	}
	if r.File != "" {
		tried = append(tried, "key file "+r.File)
		ks, err := FromFile(r.File)
		if err == nil {
			return found(ks, SourceFile, r.File, false)
		}
		if !errors.Is(err, ErrNoKey) {
			return failed(err)
		}
	}

	if r.Create && keyringUp {
		ks, created, err := LoadOrCreateKeyring(r.KeyringService, r.KeyringUser, r.KeyringTimeout)
		if err == nil {
			return found(ks, SourceKeyring, keyringName, created)
		}
		if !errors.Is(err, ErrKeyringUnavailable) {
			return failed(err)
		}
		skipped = append(skipped, err)
	}
	if r.Create && r.File != "" {
		ks, created, err := LoadOrCreateFile(r.File)
		if err != nil {
			return failed(err)
		}
		return found(ks, SourceFile, r.File, created)
	}

	if len(tried) == 0 {
		return failed(fmt.Errorf("seal: %w: no key source is configured", ErrNoKey))
	}
	msg := "none in " + strings.Join(tried, ", ")
	if r.Create {
		msg += ", and nowhere to create one"
	}
	if len(skipped) > 0 {
		return failed(fmt.Errorf("seal: %w: %s: %w", ErrNoKey, msg, errors.Join(skipped...)))
	}
	return failed(fmt.Errorf("seal: %w: %s", ErrNoKey, msg))
}
