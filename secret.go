package pixie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"
)

// redacted is what a Secret shows wherever it is printed, logged or encoded.
const redacted = "[redacted]"

// Secret holds a credential: a client secret, an access or refresh token, a PKCE
// verifier. It never shows its value by accident: fmt verbs (%v, %+v, %#v, %s, %q,
// %x), log/slog, encoding/json and encoding.TextMarshaler all produce "[redacted]".
// The value is read only through [Secret.Reveal], so every place that uses it is
// visible in the code.
//
// The zero Secret is empty. Secrets are immutable values, safe for concurrent use.
type Secret struct {
	// p points to the value, so that even where fmt cannot call Secret's
	// methods (a Secret in an unexported struct field) it prints an address.
	p *string
}

// NewSecret wraps s. Load secrets with [SecretFromEnv], [SecretFromFile] or
// [SecretFromCommand] rather than writing them into source code.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the secret's value. Call it only where the value must leave the
// process: an HTTP header, a form body, a sealed store record.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil }

// Equal reports whether s and o hold the same value.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// GoString returns a redacted Go-syntax form, so %#v shows no value.
func (s Secret) GoString() string {
	if s.IsZero() {
		return "pixie.Secret{}"
	}
	return "pixie.Secret{" + redacted + "}"
}

// Format implements fmt.Formatter so that every verb, %x and %q included, prints the
// redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form. Stores that must persist a secret encode
// its [Secret.Reveal] value explicitly and seal it.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText encodes the redacted form, so YAML, XML and map keys stay clean too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretFromEnv reads a secret from the environment variable name. A missing or
// empty variable is an error that names the variable (never its value).
func SecretFromEnv(name string) (Secret, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return Secret{}, fmt.Errorf("pixie: environment variable %s is not set", name)
	}
	if v == "" {
		return Secret{}, fmt.Errorf("pixie: environment variable %s is empty", name)
	}
	return NewSecret(v), nil
}

// SecretFromFile reads a secret from the file at path, without the trailing newline.
// The file must not be readable or writable by other users (mode & 0o077 == 0 on
// Unix): a secret in a world-readable file is already leaked, so it is refused.
func SecretFromFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("pixie: secret file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Secret{}, fmt.Errorf("pixie: secret file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return Secret{}, fmt.Errorf("pixie: secret file %s has mode %04o; restrict it with chmod 600", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return Secret{}, fmt.Errorf("pixie: secret file: %w", err)
	}
	if len(b) > maxSecretBytes {
		return Secret{}, fmt.Errorf("pixie: secret file %s is larger than %d bytes", path, maxSecretBytes)
	}
	return secretFromOutput(b, "secret file "+path)
}

// maxSecretBytes bounds secrets read from files and commands.
const maxSecretBytes = 64 << 10

// SecretFromCommand runs name with args (no shell) and uses its standard output,
// without the trailing newline, as the secret: the way to read a secret from a
// password manager such as `pass show`, `op read` or `vault kv get`. The command is
// ended if ctx is done or after 30 seconds. Its standard error is included in the
// error when it fails; its output never is.
func SecretFromCommand(ctx context.Context, name string, args ...string) (Secret, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &limitedBuffer{buf: &stdout, max: maxSecretBytes + 1}
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 1024}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return Secret{}, fmt.Errorf("pixie: secret command %s: %w: %s", name, err, msg)
		}
		return Secret{}, fmt.Errorf("pixie: secret command %s: %w", name, err)
	}
	if stdout.Len() > maxSecretBytes {
		return Secret{}, fmt.Errorf("pixie: secret command %s printed more than %d bytes", name, maxSecretBytes)
	}
	return secretFromOutput(stdout.Bytes(), "secret command "+name)
}

func secretFromOutput(b []byte, what string) (Secret, error) {
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return Secret{}, errors.New("pixie: " + what + " gave an empty secret")
	}
	return NewSecret(s), nil
}

// limitedBuffer keeps at most max bytes and discards the rest, so a runaway command
// cannot exhaust memory.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}
