package pixie_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pixieauth/pixie"
)

// secretValue is distinctive so that any leak is found by substring search.
const secretValue = "s3cr3t-Value-9f1c"

// assertNoLeak fails if out holds value, in clear or hex-encoded.
func assertNoLeak(tb testing.TB, what, out, value string) {
	tb.Helper()
	for _, form := range []string{value, hex.EncodeToString([]byte(value)), strings.ToUpper(hex.EncodeToString([]byte(value)))} {
		if strings.Contains(out, form) {
			tb.Errorf("%s reveals the secret: %q", what, out)
			return
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	s := pixie.NewSecret(secretValue)
	type holder struct {
		Name string
		Key  pixie.Secret
	}
	tests := []struct {
		format string
		arg    any
		want   string // exact output
	}{
		{"%v", s, "[redacted]"},
		{"%+v", s, "[redacted]"},
		{"%#v", s, "pixie.Secret{[redacted]}"},
		{"%s", s, "[redacted]"},
		{"%q", s, "[redacted]"},
		{"%x", s, "[redacted]"},
		{"%X", s, "[redacted]"},
		{"%d", s, "[redacted]"},
		{"%12s", s, "[redacted]"},
		{"%v", &s, "[redacted]"},
		{"%v", holder{"app", s}, "{app [redacted]}"},
		{"%+v", holder{"app", s}, "{Name:app Key:[redacted]}"},
		{"%#v", holder{"app", s}, `pixie_test.holder{Name:"app", Key:pixie.Secret{[redacted]}}`},
		{"%v", &holder{"app", s}, "&{app [redacted]}"},
		{"%v", map[string]pixie.Secret{"k": s}, "map[k:[redacted]]"},
		{"%v", map[pixie.Secret]int{s: 1}, "map[[redacted]:1]"},
		{"%v", []pixie.Secret{s, s}, "[[redacted] [redacted]]"},
		{"%v", []any{s}, "[[redacted]]"},
		{"%#v", pixie.Secret{}, "pixie.Secret{}"},
		{"%v", pixie.Secret{}, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %T", tt.format, tt.arg), func(t *testing.T) {
			got := fmt.Sprintf(tt.format, tt.arg)
			assertNoLeak(t, tt.format, got, secretValue)
			if got != tt.want {
				t.Errorf("Sprintf(%q) = %q, want %q", tt.format, got, tt.want)
			}
		})
	}
	t.Run("Sprint", func(t *testing.T) {
		if got, want := fmt.Sprint(s, " ", s), "[redacted] [redacted]"; got != want {
			t.Errorf("Sprint = %q, want %q", got, want)
		}
	})
	t.Run("String", func(t *testing.T) {
		if got, want := s.String(), "[redacted]"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	})
	t.Run("wrapped in an error", func(t *testing.T) {
		err := fmt.Errorf("login as %v failed", s)
		assertNoLeak(t, "error", err.Error(), secretValue)
	})
}

// TestSecretInUnexportedField covers a Secret in an unexported struct field,
// where fmt prints the field's contents without calling its methods.
func TestSecretInUnexportedField(t *testing.T) {
	type server struct {
		name   string
		secret pixie.Secret
	}
	srv := server{"app", pixie.NewSecret(secretValue)}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		assertNoLeak(t, verb, fmt.Sprintf(verb, srv), secretValue)
		assertNoLeak(t, verb+" pointer", fmt.Sprintf(verb, &srv), secretValue)
	}
}

func TestSecretSlog(t *testing.T) {
	s := pixie.NewSecret(secretValue)
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	}
	records := map[string]func(*slog.Logger){
		"attr":            func(l *slog.Logger) { l.Info("msg", slog.Any("secret", s)) },
		"key-value":       func(l *slog.Logger) { l.Info("msg", "secret", s) },
		"group":           func(l *slog.Logger) { l.Info("msg", slog.Group("client", slog.Any("secret", s))) },
		"With":            func(l *slog.Logger) { l.With("secret", s).Info("msg") },
		"WithGroup":       func(l *slog.Logger) { l.WithGroup("client").Info("msg", "secret", s) },
		"pointer":         func(l *slog.Logger) { l.Info("msg", "secret", &s) },
		"struct field":    func(l *slog.Logger) { l.Info("msg", "client", struct{ Secret pixie.Secret }{s}) },
		"map value":       func(l *slog.Logger) { l.Info("msg", "client", map[string]pixie.Secret{"secret": s}) },
		"slice of values": func(l *slog.Logger) { l.Info("msg", "secrets", []pixie.Secret{s}) },
	}
	for hname, newHandler := range handlers {
		for rname, record := range records {
			t.Run(hname+"/"+rname, func(t *testing.T) {
				var buf bytes.Buffer
				record(slog.New(newHandler(&buf)))
				out := buf.String()
				assertNoLeak(t, "log record", out, secretValue)
				if !strings.Contains(out, "[redacted]") {
					t.Errorf("log record %q does not show [redacted]", out)
				}
			})
		}
	}
}

func TestSecretEncoding(t *testing.T) {
	s := pixie.NewSecret(secretValue)
	type config struct {
		ClientID     string       `json:"client_id" xml:"client_id"`
		ClientSecret pixie.Secret `json:"client_secret" xml:"client_secret"`
	}
	tests := []struct {
		name   string
		encode func() ([]byte, error)
		want   string
	}{
		{"json value", func() ([]byte, error) { return json.Marshal(s) }, `"[redacted]"`},
		{"json pointer", func() ([]byte, error) { return json.Marshal(&s) }, `"[redacted]"`},
		{"json field", func() ([]byte, error) { return json.Marshal(config{"app", s}) }, `{"client_id":"app","client_secret":"[redacted]"}`},
		{"json map value", func() ([]byte, error) { return json.Marshal(map[string]pixie.Secret{"k": s}) }, `{"k":"[redacted]"}`},
		{"json map key", func() ([]byte, error) { return json.Marshal(map[pixie.Secret]int{s: 1}) }, `{"[redacted]":1}`},
		{"json zero", func() ([]byte, error) { return json.Marshal(pixie.Secret{}) }, `""`},
		{"text", s.MarshalText, "[redacted]"},
		{"xml field", func() ([]byte, error) { return xml.Marshal(config{"app", s}) },
			"<config><client_id>app</client_id><client_secret>[redacted]</client_secret></config>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.encode()
			if err != nil {
				t.Fatal(err)
			}
			assertNoLeak(t, tt.name, string(b), secretValue)
			if got := string(b); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSecretValue(t *testing.T) {
	s := pixie.NewSecret(secretValue)
	if got, want := s.Reveal(), secretValue; got != want {
		t.Errorf("Reveal() = %q, want %q", got, want)
	}
	if s.IsZero() {
		t.Error("IsZero() = true for a non-empty secret")
	}
	if !(pixie.Secret{}).IsZero() || !pixie.NewSecret("").IsZero() {
		t.Error("IsZero() = false for an empty secret")
	}
	if !s.Equal(pixie.NewSecret(secretValue)) {
		t.Error("Equal() = false for the same value")
	}
	if s.Equal(pixie.NewSecret(secretValue + "x")) {
		t.Error("Equal() = true for different values")
	}
	if !(pixie.Secret{}).Equal(pixie.NewSecret("")) {
		t.Error("Equal() = false for two empty secrets")
	}
}

func TestSecretFromEnv(t *testing.T) {
	const name = "PIXIE_TEST_SECRET_FROM_ENV"
	t.Run("set", func(t *testing.T) {
		t.Setenv(name, secretValue)
		s, err := pixie.SecretFromEnv(name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.Reveal(), secretValue; got != want {
			t.Errorf("Reveal() = %q, want %q", got, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		t.Setenv(name, "")
		os.Unsetenv(name)
		_, err := pixie.SecretFromEnv(name)
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "not set") {
			t.Errorf("error = %v, want one naming %s as not set", err, name)
		}
	})
	t.Run("empty", func(t *testing.T) {
		t.Setenv(name, "")
		_, err := pixie.SecretFromEnv(name)
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "empty") {
			t.Errorf("error = %v, want one naming %s as empty", err, name)
		}
	})
}

// writeSecretFile writes content to a new file with mode perm and returns its path.
func writeSecretFile(tb testing.TB, content string, perm os.FileMode) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // not subject to the umask
		tb.Fatal(err)
	}
	return path
}

func TestSecretFromFile(t *testing.T) {
	t.Run("accepted", func(t *testing.T) {
		for _, content := range []string{secretValue, secretValue + "\n", secretValue + "\r\n"} {
			for _, perm := range []os.FileMode{0o600, 0o400} {
				s, err := pixie.SecretFromFile(writeSecretFile(t, content, perm))
				if err != nil {
					t.Fatalf("content %q mode %04o: %v", content, perm, err)
				}
				if got, want := s.Reveal(), secretValue; got != want {
					t.Errorf("content %q: Reveal() = %q, want %q", content, got, want)
				}
			}
		}
	})
	t.Run("inner spaces kept", func(t *testing.T) {
		s, err := pixie.SecretFromFile(writeSecretFile(t, " a b \n", 0o600))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.Reveal(), " a b "; got != want {
			t.Errorf("Reveal() = %q, want %q", got, want)
		}
	})
	refused := []struct {
		name    string
		content string
		perm    os.FileMode
		want    string
	}{
		{"world-readable", secretValue, 0o644, "chmod 600"},
		{"group-readable", secretValue, 0o640, "chmod 600"},
		{"group-writable", secretValue, 0o620, "chmod 600"},
		{"empty", "", 0o600, "empty secret"},
		{"only a newline", "\n", 0o600, "empty secret"},
		{"too large", strings.Repeat("x", 64<<10+1), 0o600, "larger than"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSecretFile(t, tt.content, tt.perm)
			_, err := pixie.SecretFromFile(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			assertNoLeak(t, "error", err.Error(), secretValue)
		})
	}
	t.Run("largest accepted", func(t *testing.T) {
		want := strings.Repeat("x", 64<<10)
		s, err := pixie.SecretFromFile(writeSecretFile(t, want, 0o600))
		if err != nil {
			t.Fatal(err)
		}
		if s.Reveal() != want {
			t.Errorf("Reveal() has %d bytes, want %d", len(s.Reveal()), len(want))
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := pixie.SecretFromFile(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error = %v, want one wrapping os.ErrNotExist", err)
		}
	})
}

func TestSecretFromCommand(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run commands with")
	}
	ctx := context.Background()
	t.Run("output trimmed", func(t *testing.T) {
		s, err := pixie.SecretFromCommand(ctx, "sh", "-c", "printf '%s\\n' "+secretValue)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.Reveal(), secretValue; got != want {
			t.Errorf("Reveal() = %q, want %q", got, want)
		}
	})
	t.Run("failure shows stderr, never stdout", func(t *testing.T) {
		_, err := pixie.SecretFromCommand(ctx, "sh", "-c", "echo "+secretValue+"; echo vault is sealed >&2; exit 3")
		if err == nil {
			t.Fatal("no error")
		}
		if !strings.Contains(err.Error(), "vault is sealed") {
			t.Errorf("error %q does not include the command's stderr", err)
		}
		assertNoLeak(t, "error", err.Error(), secretValue)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("error %v does not wrap the exit status 3", err)
		}
	})
	t.Run("empty output", func(t *testing.T) {
		_, err := pixie.SecretFromCommand(ctx, "sh", "-c", "true")
		if err == nil || !strings.Contains(err.Error(), "empty secret") {
			t.Errorf("error = %v, want an empty secret error", err)
		}
	})
	t.Run("too much output", func(t *testing.T) {
		_, err := pixie.SecretFromCommand(ctx, "sh", "-c", "i=0; while [ $i -lt 1100 ]; do printf '%064d' 0; i=$((i+1)); done")
		if err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("error = %v, want a size error", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := pixie.SecretFromCommand(ctx, filepath.Join(t.TempDir(), "no-such-command"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error = %v, want one wrapping os.ErrNotExist", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := pixie.SecretFromCommand(cctx, "sh", "-c", "echo "+secretValue); err == nil {
			t.Error("no error with a cancelled context")
		}
	})
}
