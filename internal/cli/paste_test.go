package cli_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pixieauth/pixie/devserver"
)

// cmdPasteLogin runs pixie login with ARGS as a user whose browser is on
// another machine: it reads the authorization URL from pixie's stderr, logs in
// as alice on the devserver's pages without following the redirect to pixie's
// listener, and pastes on pixie's stdin, one line each, what PASTES (comma
// separated) name: "url" the redirect URL, "forged" it with another state,
// "code" the bare code. It then closes stdin. pixie's output becomes the
// command's: pastelogin PASTES ARGS...
func cmdPasteLogin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: [!] pastelogin PASTES ARGS...")
	}
	bin := ""
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "pixie")); err == nil {
			bin = filepath.Join(dir, "pixie")
			break
		}
	}
	cmd := exec.Command(bin, append([]string{"login"}, args[1:]...)...)
	cmd.Dir = ts.Getenv("WORK")
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "PIXIE_HOME", "PIXIE_STORE_KEY"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	stdin, err := cmd.StdinPipe()
	ts.Check(err)
	stderr, err := cmd.StderrPipe()
	ts.Check(err)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	ts.Check(cmd.Start())

	var errText strings.Builder
	var wg sync.WaitGroup
	authURL := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			errText.WriteString(sc.Text() + "\n")
			if u, ok := strings.CutPrefix(sc.Text(), "Open this URL to log in: "); ok {
				authURL <- u
			}
		}
		close(authURL)
	}()
	pasteErr := paste(args[0], authURL, stdin)
	stdin.Close()
	wg.Wait()
	runErr := cmd.Wait()
	fmt.Fprint(ts.Stdout(), stdout.String())
	fmt.Fprint(ts.Stderr(), errText.String())
	if pasteErr != nil {
		ts.Fatalf("pastelogin: %v", pasteErr)
	}
	if (runErr != nil) != neg {
		ts.Fatalf("pixie login: %v", runErr)
	}
}

// paste logs in at the URL from authURL and writes the pastes to w.
func paste(pastes string, authURL <-chan string, w io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var u string
	select {
	case u = <-authURL:
	case <-ctx.Done():
		return errors.New("pixie login printed no URL")
	}
	if u == "" {
		return errors.New("pixie login ended without printing a URL")
	}
	cb, err := devserver.NewBrowser(nil, "alice", "wonderland").Authorize(ctx, u)
	if err != nil {
		return err
	}
	for _, p := range strings.Split(pastes, ",") {
		var line string
		switch p {
		case "url":
			line = cb.String()
		case "forged":
			forged := *cb
			q := forged.Query()
			q.Set("state", "forged-"+q.Get("state"))
			forged.RawQuery = q.Encode()
			line = forged.String()
		case "code":
			line = cb.Query().Get("code")
		default:
			return fmt.Errorf("unknown paste %q", p)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
