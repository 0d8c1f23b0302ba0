package cli_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/cli"
	"github.com/pixieauth/pixie/internal/seal"
)

// TestFilesArePrivate checks that login keeps pixie's home to its owner: the
// directory 0700, config.yaml and the token store 0600, and no secret in the
// profile.
func TestFilesArePrivate(t *testing.T) {
	srv := devservertest.NewServer(t)
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "nested", "pixie")
	t.Setenv("PIXIE_HOME", home)
	t.Setenv("PIXIE_PROFILE", "")
	t.Setenv("PIXIE_STORE_KEY", key.Reveal())
	t.Setenv("TEST_CLIENT_SECRET", srv.Confidential.Secret.Reveal())

	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"login", "--grant", "client_credentials", "--issuer", srv.URL,
		"--client-id", srv.Confidential.ID, "--client-secret-env", "TEST_CLIENT_SECRET"}, strings.NewReader(""), &stdout, &stderr)
	if got, want := code, cli.ExitOK; got != want {
		t.Fatalf("pixie login: exit code %d, want %d; stderr:\n%s", got, want, stderr.String())
	}
	for _, f := range []struct {
		path string
		want os.FileMode
	}{
		{home, 0o700},
		{filepath.Join(home, "config.yaml"), 0o600},
		{filepath.Join(home, "tokens.db"), 0o600},
	} {
		t.Run(filepath.Base(f.path), func(t *testing.T) {
			fi, err := os.Stat(f.path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), f.want; got != want {
				t.Errorf("mode %v, want %v", got, want)
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(home, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); strings.Contains(got, srv.Confidential.Secret.Reveal()) || !strings.Contains(got, "client_secret_env: TEST_CLIENT_SECRET") {
		t.Errorf("config.yaml holds the secret or not its source:\n%s", got)
	}
	if got, want := stdout.String(), ""; got != want {
		t.Errorf("login wrote to stdout: %q, want nothing", got)
	}
}

// TestPrivateKeyJWT authenticates with private_key_jwt, the key read from a PEM
// file in each encoding pixie accepts.
func TestPrivateKeyJWT(t *testing.T) {
	srv := devservertest.NewServer(t)
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PIXIE_HOME", t.TempDir())
	t.Setenv("PIXIE_PROFILE", "")
	t.Setenv("PIXIE_STORE_KEY", key.Reveal())

	pkcs8, err := x509.MarshalPKCS8PrivateKey(srv.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(srv.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []struct {
		name, pemType string
		der           []byte
	}{
		{"pkcs8", "PRIVATE KEY", pkcs8},
		{"sec1", "EC PRIVATE KEY", sec1},
	} {
		t.Run(enc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: enc.pemType, Bytes: enc.der}), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := cli.Main([]string{"token", "--issuer", srv.URL, "--client-id", srv.KeyClient.ID,
				"--auth-method", "private_key_jwt", "--private-key", path, "--grant", "client_credentials", "--force-refresh"},
				strings.NewReader(""), &stdout, &stderr)
			if got, want := code, cli.ExitOK; got != want {
				t.Fatalf("pixie token: exit code %d, want %d; stderr:\n%s", got, want, stderr.String())
			}
			if got := strings.TrimSpace(stdout.String()); got == "" {
				t.Error("pixie token printed no token")
			}
		})
	}
}

// TestConcurrentLoginsKeepEveryProfile logs in to several profiles at once, as
// parallel CI jobs sharing a home do: config.yaml must end with all of them.
func TestConcurrentLoginsKeepEveryProfile(t *testing.T) {
	srv := devservertest.NewServer(t)
	home := testHome(t)
	t.Setenv("TEST_CLIENT_SECRET", srv.Confidential.Secret.Reveal())

	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	stderrs := make([]bytes.Buffer, n)
	for i := range n {
		wg.Go(func() {
			codes[i] = cli.Main([]string{"login", "--profile", fmt.Sprintf("job%d", i), "--grant", "client_credentials",
				"--issuer", srv.URL, "--client-id", srv.Confidential.ID, "--client-secret-env", "TEST_CLIENT_SECRET"},
				strings.NewReader(""), io.Discard, &stderrs[i])
		})
	}
	wg.Wait()
	b, err := os.ReadFile(filepath.Join(home, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got, want := codes[i], cli.ExitOK; got != want {
			t.Errorf("login job%d: exit code %d, want %d; stderr:\n%s", i, got, want, stderrs[i].String())
		}
		if !strings.Contains(string(b), fmt.Sprintf("job%d:", i)) {
			t.Errorf("config.yaml lost profile job%d:\n%s", i, b)
		}
	}
}
