package cli_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/cli"
	"github.com/pixieauth/pixie/internal/seal"
)

// cancelOn is stderr that cancels the command's context, as Ctrl-C does,
// once the command has written want.
type cancelOn struct {
	mu     sync.Mutex
	text   strings.Builder
	want   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	if strings.Contains(w.text.String(), w.want) {
		w.cancel()
	}
	return len(p), nil
}

// String returns what was written so far.
func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// TestInterruptExitCode checks that a command ended by Ctrl-C exits with 130,
// as shells report a process SIGINT ended, and says it was interrupted.
func TestInterruptExitCode(t *testing.T) {
	srv := devservertest.NewServer(t)
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PIXIE_HOME": filepath.Join(t.TempDir(), "home"), seal.EnvVar: key.Reveal()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stderr := &cancelOn{want: "Open this URL to log in", cancel: cancel}
	args := []string{"login", "--issuer", srv.URL, "--client-id", srv.Public.ID, "--no-browser"}
	code := cli.RunContext(ctx, args, env, strings.NewReader(""), io.Discard, stderr)
	if got, want := code, cli.ExitInterrupted; got != want {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", got, want, stderr.String())
	}
	if !strings.Contains(stderr.String(), "pixie: interrupted") {
		t.Errorf("stderr lacks the interruption:\n%s", stderr.String())
	}
	if ctx.Err() == context.DeadlineExceeded {
		t.Error("the login was never interrupted")
	}
}
