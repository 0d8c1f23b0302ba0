package cli_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/internal/cli"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pixie":      func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"devbrowser": devbrowser,
		// The name docker runs a credential helper by.
		"docker-credential-pixie": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the end-to-end scripts in testdata/script. Each script gets
// a free loopback port ($PORT, $ISSUER) for its own pixie serve, a second one
// ($PORT2) for a fixed redirect URI, a fresh
// PIXIE_HOME and a store key, so no keyring is touched, and another key
// ($OTHER_STORE_KEY).
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Condition:           scriptCondition,
		Setup: func(e *testscript.Env) error {
			port, err := freePort()
			if err != nil {
				return err
			}
			port2, err := freePort()
			if err != nil {
				return err
			}
			e.Setenv("PORT2", port2)
			key, err := seal.GenerateKey()
			if err != nil {
				return err
			}
			other, err := seal.GenerateKey()
			if err != nil {
				return err
			}
			e.Setenv("OTHER_STORE_KEY", other.Reveal())
			e.Setenv("PORT", port)
			e.Setenv("ISSUER", "http://127.0.0.1:"+port)
			e.Setenv("PIXIE_HOME", filepath.Join(e.WorkDir, "pixiehome"))
			e.Setenv("PIXIE_STORE_KEY", key.Reveal())
			e.Setenv("BROWSER", "devbrowser")
			return nil
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"exits":            cmdExits,
			"waitserver":       cmdWaitServer,
			"revoketoken":      cmdRevokeToken,
			"waitfile":         cmdWaitFile,
			"listening":        cmdListening,
			"quick":            cmdQuick,
			"waitrequests":     cmdWaitRequests,
			"kubeapi":          cmdKubeAPI,
			"execcredential":   cmdExecCredential,
			"gitserver":        cmdGitServer,
			"dockercredential": cmdDockerCredential,
			"tokenjson":        cmdTokenJSON,
			"pastelogin":       cmdPasteLogin,
		},
	})
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// cmdExits runs a command and checks its exit code: exits CODE COMMAND ARGS...
// Its stdout and stderr are then checked as after exec.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdWaitServer waits until the pixie serve at $ISSUER answers its discovery
// document.
func cmdWaitServer(ts *testscript.TestScript, neg bool, args []string) {
	u := ts.Getenv("ISSUER") + "/.well-known/openid-configuration"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("pixie serve did not answer at %s: %v", u, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdRevokeToken revokes a profile's refresh token at the server behind the
// command's back, as an administrator or another device would:
// revoketoken PROFILE CLIENT_ID.
func cmdRevokeToken(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: revoketoken PROFILE CLIENT_ID")
	}
	ks, err := seal.ParseKeySet(ts.Getenv("PIXIE_STORE_KEY"))
	ts.Check(err)
	st, err := sqlitestore.Open(filepath.Join(ts.Getenv("PIXIE_HOME"), "tokens.db"), sqlitestore.WithKeySet(ks))
	ts.Check(err)
	defer st.Close()
	tok, _, err := st.Load(context.Background(), args[0])
	ts.Check(err)
	issuer := ts.Getenv("ISSUER")
	cfg := &pixie.Config{ClientID: args[1], AuthMethod: pixie.AuthNone, Endpoint: pixie.Endpoint{Issuer: issuer, TokenURL: issuer + "/token", RevocationURL: issuer + "/revoke"}}
	ts.Check(cfg.Revoke(context.Background(), tok.RefreshToken, pixie.HintRefreshToken))
}

// devbrowser is the $BROWSER of the scripts: it plays the user on the
// devserver's real pages for the URL pixie login opens. An authorization URL
// goes through the login and consent pages (as $DEVBROWSER_USER, default
// alice, password $DEVBROWSER_PASSWORD, default wonderland) and the browser
// then follows the redirect to pixie's loopback listener; with
// DEVBROWSER_TAMPER=state it changes the state first, as a forged redirect
// would. A device verification URL is approved on the verification page. With
// DEVBROWSER_DENY set, consent and device approval are denied. With
// DEVBROWSER_PAGE set, the page pixie's listener answered is saved there.
func devbrowser() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: devbrowser URL")
		os.Exit(2)
	}
	if err := browse(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "devbrowser:", err)
		os.Exit(1)
	}
}

func browse(raw string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	user, password := os.Getenv("DEVBROWSER_USER"), os.Getenv("DEVBROWSER_PASSWORD")
	if user == "" {
		user, password = "alice", "wonderland"
	}
	b := devserver.NewBrowser(nil, user, password)
	b.Deny = os.Getenv("DEVBROWSER_DENY") != ""
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Path == "/device" {
		code := u.Query().Get("user_code")
		u.RawQuery = ""
		return b.Device(ctx, u.String(), code)
	}
	cb, err := b.Authorize(ctx, raw)
	if err != nil {
		return err
	}
	if os.Getenv("DEVBROWSER_TAMPER") == "state" {
		q := cb.Query()
		q.Set("state", "forged-"+q.Get("state"))
		cb.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cb.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if out := os.Getenv("DEVBROWSER_PAGE"); out != "" {
		// Write then rename, so that waitfile never sees half a page.
		if err := os.WriteFile(out+".tmp", fmt.Appendf(nil, "%s\n%s", resp.Status, page), 0o600); err != nil {
			return err
		}
		return os.Rename(out+".tmp", out)
	}
	return nil
}

// cmdWaitFile waits until a file exists: waitfile FILE. The browser writes the
// callback page after pixie login may have exited.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdListening waits until something accepts connections on a loopback port:
// listening PORT. Negated, it checks that nothing does, now.
func cmdListening(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] listening PORT")
	}
	addr := net.JoinHostPort("127.0.0.1", args[0])
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		switch {
		case neg && err == nil:
			ts.Fatalf("%s still accepts connections", addr)
		case neg, err == nil:
			return
		case time.Now().After(deadline):
			ts.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdQuick runs a command as exec does and fails if it takes 5 seconds or more,
// as a command waiting on a lock would: quick COMMAND [ARGS...].
func cmdQuick(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: [!] quick COMMAND [ARGS...]")
	}
	start := time.Now()
	err := ts.Exec(args[0], args[1:]...)
	if took := time.Since(start); took >= 5*time.Second {
		ts.Fatalf("%s took %s", args[0], took.Round(time.Millisecond))
	}
	if (err != nil) != neg {
		ts.Fatalf("%s: %v", args[0], err)
	}
}

// cmdWaitRequests waits until the pixie serve at $ISSUER has answered N
// requests at an endpoint, as its metrics count them: waitrequests ENDPOINT N.
func cmdWaitRequests(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitrequests ENDPOINT N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	prefix := `pixie_devserver_requests_total{endpoint="` + args[0] + `"`
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := 0
		if resp, err := http.Get(ts.Getenv("ISSUER") + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(line, prefix); ok {
					n, _ := strconv.Atoi(rest[strings.LastIndex(rest, " ")+1:])
					got += n
				}
			}
		}
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%d %s requests, want %d", got, args[0], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
