// Package proctest runs pixie's multi-process tests: it starts the running test
// binary again as child processes (the helper process pattern), talks to them
// one line at a time over stdin and stdout, and kills them with SIGKILL. On top
// of that, [RunCrash] stops a process that renews a token at each step of the
// renewal and kills it there, for every Store implementation.
package proctest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// AnswerTimeout bounds every wait for a child: for one line, or for its exit.
const AnswerTimeout = time.Minute

// Child is a running child process: this test binary run again with only one
// test, which acts as the child.
type Child struct {
	Name string

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string   // its stdout, closed at the end
	done    chan struct{} // closed once it is reaped
	waitErr error         // set before done is closed
	stderr  syncBuffer
}

// Start runs this test binary as a child that runs only the test named test
// (the child's body, which must skip unless one of env's variables is set),
// with env added to the environment. The child is killed and reaped when the
// test ends, whatever its outcome.
func Start(tb testing.TB, name, test string, env ...string) *Child {
	tb.Helper()
	c := &Child{Name: name, lines: make(chan string, 16), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^"+test+"$")
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = &c.stderr
	c.cmd.WaitDelay = 10 * time.Second
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.waitErr = c.cmd.Wait() // after the last read, as os/exec requires
		close(c.done)
	}()
	tb.Cleanup(func() {
		c.cmd.Process.Kill() // an error means it has exited already
		for range c.lines {
		}
		<-c.done
	})
	return c
}

// Send writes msg and a newline to the child's stdin.
func (c *Child) Send(tb testing.TB, msg string) {
	tb.Helper()
	if _, err := io.WriteString(c.stdin, msg+"\n"); err != nil {
		tb.Fatalf("telling %s %q: %v; %s", c.Name, msg, err, c.Status())
	}
}

// Expect returns the rest of the child's next line, which must start with
// prefix, waiting at most AnswerTimeout.
func (c *Child) Expect(tb testing.TB, prefix string) string {
	tb.Helper()
	line, ok := c.Next(tb)
	if !ok {
		tb.Fatalf("%s exited while the test waited for %q; %s", c.Name, prefix, c.Status())
	}
	rest, found := strings.CutPrefix(line, prefix)
	if !found {
		tb.Fatalf("%s said %q, want %q...; %s", c.Name, line, prefix, c.Status())
	}
	return rest
}

// Next returns the child's next line, waiting at most AnswerTimeout; ok is false
// when the child exited instead (it has been reaped then).
func (c *Child) Next(tb testing.TB) (line string, ok bool) {
	tb.Helper()
	select {
	case line, ok = <-c.lines:
	case <-time.After(AnswerTimeout):
		tb.Fatalf("%s said nothing within %v; %s", c.Name, AnswerTimeout, c.Status())
	}
	if !ok {
		<-c.done
	}
	return line, ok
}

// Exited reports whether the child has ended.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Finish waits for the child to exit, which it must do successfully.
func (c *Child) Finish(tb testing.TB) {
	tb.Helper()
	select {
	case <-c.done:
	case <-time.After(AnswerTimeout):
		tb.Fatalf("%s did not exit within %v", c.Name, AnswerTimeout)
	}
	if c.waitErr != nil {
		tb.Fatalf("%s: %s", c.Name, c.Status())
	}
}

// Kill kills the child with SIGKILL (os.Process.Kill) and reaps it; it must not
// have ended by itself before.
func (c *Child) Kill(tb testing.TB) {
	tb.Helper()
	c.cmd.Process.Kill()
	for range c.lines {
	}
	select {
	case <-c.done:
	case <-time.After(AnswerTimeout):
		tb.Fatalf("%s was not reaped within %v of SIGKILL", c.Name, AnswerTimeout)
	}
	if c.cmd.ProcessState.Exited() {
		tb.Fatalf("%s ended before it was killed: %s", c.Name, c.Status())
	}
}

// Status describes how the child ended, with its stderr.
func (c *Child) Status() string {
	if !c.Exited() {
		return "stderr so far:\n" + c.stderr.String()
	}
	return fmt.Sprintf("exit: %v; stderr:\n%s", c.waitErr, c.stderr.String())
}

// Die ends a child from any goroutine, with err on its stderr.
func Die(err error) {
	fmt.Fprintf(os.Stderr, "child: %v\n", err)
	os.Exit(1)
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
