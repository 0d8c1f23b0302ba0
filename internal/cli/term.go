package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func (a *app) isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// color reports whether to colour output to w: a terminal, and neither
// NO_COLOR (https://no-color.org) nor TERM=dumb set.
func (a *app) color(w io.Writer) bool {
	return a.isTerminal(w) && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"
}

// paint wraps s in the ANSI colour code when colouring w.
func (a *app) paint(w io.Writer, code, s string) string {
	if !a.color(w) {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// spinner shows msg with a spinner on stderr while waiting, when stderr is a
// terminal; the returned function stops it and clears the line.
func (a *app) spinner(msg string) (stop func()) {
	if !a.isTerminal(a.stderr) {
		return func() {}
	}
	frames := []string{"|", "/", "-", "\\"}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(120 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(a.stderr, "\r%s %s...", frames[i%len(frames)], msg)
			select {
			case <-done:
				fmt.Fprint(a.stderr, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
