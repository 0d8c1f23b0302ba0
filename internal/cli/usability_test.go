package cli_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/cli"
	"github.com/pixieauth/pixie/internal/rotest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
)

// cliRun runs the pixie command in this process and returns its exit code,
// stdout and stderr.
func cliRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// loginService logs in to profile "svc" with client credentials against a
// new devserver, in a new home with a store key from PIXIE_STORE_KEY, and
// returns the home and the key.
func loginService(t *testing.T) (home, storeKey string) {
	t.Helper()
	srv := devservertest.NewServer(t)
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	home = filepath.Join(t.TempDir(), "pixie")
	t.Setenv("PIXIE_HOME", home)
	t.Setenv("PIXIE_PROFILE", "")
	t.Setenv("PIXIE_STORE_KEY", key.Reveal())
	t.Setenv("TEST_CLIENT_SECRET", srv.Confidential.Secret.Reveal())
	if code, _, stderr := cliRun(t, "login", "--profile", "svc", "--grant", "client_credentials", "--issuer", srv.URL,
		"--client-id", srv.Confidential.ID, "--client-secret-env", "TEST_CLIENT_SECRET"); code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, stderr)
	}
	return home, key.Reveal()
}

// TestReadOnlyHome serves a valid cached token from a home that cannot be
// written, and reports the store as read-only (not corrupt) to the commands
// that must write.
func TestReadOnlyHome(t *testing.T) {
	home, _ := loginService(t)
	rotest.Dir(t, home)

	code, stdout, stderr := cliRun(t, "token", "--profile", "svc")
	if code != cli.ExitOK || !strings.HasPrefix(stdout, "ey") {
		t.Fatalf("pixie token in a read-only home: exit code %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
	if code, _, stderr := cliRun(t, "status"); code != cli.ExitOK {
		t.Errorf("pixie status in a read-only home: exit code %d; stderr:\n%s", code, stderr)
	}
	code, _, stderr = cliRun(t, "token", "--profile", "svc", "--force-refresh")
	if code != cli.ExitFailure || !strings.Contains(stderr, "read-only") {
		t.Errorf("pixie token --force-refresh in a read-only home: exit code %d, want %d and an error that says read-only; stderr:\n%s", code, cli.ExitFailure, stderr)
	}
	for _, bad := range []string{"corrupt", "move it away"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("the error for a read-only store says %q:\n%s", bad, stderr)
		}
	}
}

// TestCachedTokenTakesNoLock serves a valid cached token while another
// process holds the profile's store lock, as a renewal in progress does: the
// cached path reads without taking the lock, so it does not wait.
func TestCachedTokenTakesNoLock(t *testing.T) {
	home, key := loginService(t)
	ks, err := seal.ParseKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(filepath.Join(home, "tokens.db"), sqlitestore.WithKeySet(ks))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lease, err := st.Lock(t.Context(), "svc", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Unlock(context.Background())

	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := cliRun(t, "token", "--profile", "svc")
		done <- result{code, stdout, stderr}
	}()
	select {
	case r := <-done:
		if r.code != cli.ExitOK || !strings.HasPrefix(r.stdout, "ey") {
			t.Errorf("pixie token: exit code %d, stdout %q; stderr:\n%s", r.code, r.stdout, r.stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pixie token waited for the store lock to serve a valid cached token")
	}
}

// TestStatusWideCharacters aligns the status table for profile names whose
// characters take two terminal columns.
func TestStatusWideCharacters(t *testing.T) {
	home := t.TempDir()
	t.Setenv("PIXIE_HOME", home)
	t.Setenv("PIXIE_PROFILE", "")
	config := "profiles:\n  日本語:\n    issuer: https://id.example.com\n    client_id: app\n  ascii:\n    issuer: https://id.example.com\n    client_id: app\n"
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cliRun(t, "status")
	if code != cli.ExitOK {
		t.Fatalf("pixie status: exit code %d; stderr:\n%s", code, stderr)
	}
	// PROFILE is the widest cell of the column (7 columns), then 2 spaces:
	// the issuer starts at column 9. 日本語 takes 6 columns.
	for _, prefix := range []string{"PROFILE  ISSUER", "日本語   https://", "ascii    https://"} {
		if !strings.Contains(stdout, "\n"+prefix) && !strings.HasPrefix(stdout, prefix) {
			t.Errorf("status table has no line starting %q:\n%s", prefix, stdout)
		}
	}
}

// TestKeyFileWithoutKeyring creates the store key in store.key when no OS
// keyring answers, says so once, and shows the key's source in status.
func TestKeyFileWithoutKeyring(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the keyring is made unreachable through D-Bus, which only Linux uses")
	}
	srv := devservertest.NewServer(t)
	home := t.TempDir()
	t.Setenv("PIXIE_HOME", home)
	t.Setenv("PIXIE_PROFILE", "")
	t.Setenv("PIXIE_STORE_KEY", "")
	// No session bus answers here, so no keyring does, whatever the machine has.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(home, "no-bus"))
	t.Setenv("TEST_CLIENT_SECRET", srv.Confidential.Secret.Reveal())
	login := []string{"login", "--grant", "client_credentials", "--issuer", srv.URL,
		"--client-id", srv.Confidential.ID, "--client-secret-env", "TEST_CLIENT_SECRET"}
	keyFile := filepath.Join(home, sqlitestore.KeyFileName)

	code, _, stderr := cliRun(t, login...)
	if code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, stderr)
	}
	if want := "the token store's key was saved in " + keyFile; !strings.Contains(stderr, want) || !strings.Contains(stderr, "keyring") {
		t.Errorf("first login does not say %q and why (the keyring):\n%s", want, stderr)
	}
	if _, _, stderr := cliRun(t, login...); strings.Contains(stderr, "key was saved") {
		t.Errorf("second login says again where the key was saved:\n%s", stderr)
	}
	code, stdout, stderr := cliRun(t, "status")
	if want := "Key: key file " + keyFile + "\n"; code != cli.ExitOK || !strings.Contains(stdout, want) {
		t.Errorf("pixie status: exit code %d, no %q in:\n%s%s", code, want, stdout, stderr)
	}
}

// TestCachedTokenSkipsKeyring serves a cached token sealed with the key in
// store.key without asking the OS keyring: the D-Bus session bus, a socket
// this test listens on, gets no connection.
func TestCachedTokenSkipsKeyring(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the keyring is watched through D-Bus, which only Linux uses")
	}
	srv := devservertest.NewServer(t)
	home := t.TempDir()
	bus := filepath.Join(home, "bus")
	t.Setenv("PIXIE_HOME", home)
	t.Setenv("PIXIE_PROFILE", "")
	t.Setenv("PIXIE_STORE_KEY", "")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+bus)
	t.Setenv("TEST_CLIENT_SECRET", srv.Confidential.Secret.Reveal())
	// No bus answers yet: the login keeps the key in store.key.
	if code, _, stderr := cliRun(t, "login", "--grant", "client_credentials", "--issuer", srv.URL,
		"--client-id", srv.Confidential.ID, "--client-secret-env", "TEST_CLIENT_SECRET"); code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, stderr)
	}

	ln, err := net.Listen("unix", bus)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dials atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Counted before the close that lets the keyring call fail, so
			// the count is in when pixie token returns.
			dials.Add(1)
			c.Close()
		}
	}()
	code, stdout, stderr := cliRun(t, "token")
	if code != cli.ExitOK || !strings.HasPrefix(stdout, "ey") {
		t.Fatalf("pixie token: exit code %d, stdout %q; stderr:\n%s", code, stdout, stderr)
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("pixie token connected %d times to the session bus (the OS keyring) for a token whose key is in store.key", n)
	}
}
