package cli

import (
	"context"
	"io"
	"time"
)

// RunContext runs one pixie command line as Main does, with ctx as its
// context (cancelling it plays Ctrl-C) and env as its environment.
func RunContext(ctx context.Context, args []string, env map[string]string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: func(k string) string { return env[k] }, now: time.Now}, args)
}
