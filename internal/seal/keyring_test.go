package seal_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pixieauth/pixie/internal/seal"
	"github.com/zalando/go-keyring"
)

// useMockKeyring gives the test an empty in-memory OS keyring.
func useMockKeyring(tb testing.TB) {
	tb.Helper()
	keyring.MockInit()
	tb.Cleanup(keyring.MockInit)
}

// hangingKeyring never answers until the test ends, like a Secret Service call
// with no session bus.
type hangingKeyring struct{ release chan struct{} }

func newHangingKeyring(tb testing.TB) hangingKeyring {
	h := hangingKeyring{release: make(chan struct{})}
	tb.Cleanup(func() { close(h.release) })
	return h
}

func (h hangingKeyring) Get(service, user string) (string, error) {
	<-h.release
	return "", keyring.ErrNotFound
}

func (h hangingKeyring) Set(service, user, password string) error {
	<-h.release
	return nil
}

func TestFromKeyring(t *testing.T) {
	useMockKeyring(t)
	if _, err := seal.FromKeyring("pixie-test", "store", time.Second); !errors.Is(err, seal.ErrNoKey) {
		t.Fatalf("empty keyring: err = %v, want ErrNoKey", err)
	}
	list := base64.StdEncoding.EncodeToString(keyBytes(2)) + "," + base64.StdEncoding.EncodeToString(keyBytes(1))
	if err := keyring.Set("pixie-test", "store", list); err != nil {
		t.Fatal(err)
	}
	ks, err := seal.FromKeyring("pixie-test", "store", time.Second)
	if err != nil {
		t.Fatalf("FromKeyring: %v", err)
	}
	if got, want := ks.Current(), mustKey(t, 2).ID(); got != want {
		t.Errorf("Current() = %s, want %s", got, want)
	}
	if got, want := len(ks.IDs()), 2; got != want {
		t.Errorf("len(IDs) = %d, want %d", got, want)
	}
}

func TestFromKeyringInvalidEntry(t *testing.T) {
	useMockKeyring(t)
	if err := keyring.Set("pixie-test", "store", "not-a-key"); err != nil {
		t.Fatal(err)
	}
	_, err := seal.FromKeyring("pixie-test", "store", time.Second)
	if !errors.Is(err, seal.ErrInvalidKey) || errors.Is(err, seal.ErrKeyringUnavailable) {
		t.Fatalf("err = %v, want ErrInvalidKey only", err)
	}
	if !strings.Contains(err.Error(), `"pixie-test"`) || strings.Contains(err.Error(), "not-a-key") {
		t.Errorf("error %q should name the entry and not show its value", err)
	}
}

func TestLoadOrCreateKeyring(t *testing.T) {
	useMockKeyring(t)
	ks, created, err := seal.LoadOrCreateKeyring("pixie-test", "store", time.Second)
	if err != nil {
		t.Fatalf("LoadOrCreateKeyring: %v", err)
	}
	if !created {
		t.Error("created = false for a new entry")
	}
	stored, err := keyring.Get("pixie-test", "store")
	if err != nil {
		t.Fatalf("keyring.Get: %v", err)
	}
	parsed, err := seal.ParseKeySet(stored)
	if err != nil {
		t.Fatalf("stored entry does not parse: %v", err)
	}
	if got, want := parsed.Current(), ks.Current(); got != want {
		t.Errorf("stored key id = %s, want %s", got, want)
	}

	again, created, err := seal.LoadOrCreateKeyring("pixie-test", "store", time.Second)
	if err != nil {
		t.Fatalf("second LoadOrCreateKeyring: %v", err)
	}
	if created || again.Current() != ks.Current() {
		t.Errorf("second call: created = %v, key %s; want the existing key %s", created, again.Current(), ks.Current())
	}
}

func TestKeyringUnavailable(t *testing.T) {
	cause := errors.New("org.freedesktop.secrets was not provided by any .service files")
	keyring.MockInitWithError(cause)
	t.Cleanup(keyring.MockInit)
	for name, call := range map[string]func() error{
		"FromKeyring": func() error {
			_, err := seal.FromKeyring("pixie-test", "store", time.Second)
			return err
		},
		"LoadOrCreateKeyring": func() error {
			_, _, err := seal.LoadOrCreateKeyring("pixie-test", "store", time.Second)
			return err
		},
	} {
		err := call()
		if !errors.Is(err, seal.ErrKeyringUnavailable) || !errors.Is(err, cause) {
			t.Errorf("%s: err = %v, want ErrKeyringUnavailable wrapping the keyring's error", name, err)
		}
	}
}

func TestKeyringTimeout(t *testing.T) {
	seal.UseKeyringBackend(t, newHangingKeyring(t))
	for name, call := range map[string]func() error{
		"FromKeyring": func() error {
			_, err := seal.FromKeyring("pixie-test", "store", time.Millisecond)
			return err
		},
		"LoadOrCreateKeyring": func() error {
			_, _, err := seal.LoadOrCreateKeyring("pixie-test", "store", time.Millisecond)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, seal.ErrKeyringTimeout) || !errors.Is(err, seal.ErrKeyringUnavailable) {
				t.Fatalf("err = %v, want ErrKeyringTimeout and ErrKeyringUnavailable", err)
			}
			if !strings.Contains(err.Error(), seal.EnvVar) {
				t.Errorf("error %q should suggest %s", err, seal.EnvVar)
			}
		})
	}
}
