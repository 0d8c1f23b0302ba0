package cli_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/cli"
	"github.com/pixieauth/pixie/internal/seal"
)

// TestLoginIgnoresForgedCallbacks sends pixie login's loopback listener
// callbacks that do not carry the login's state, as any local program can:
// each is answered 400 and ignored, and the login then completes with the
// browser's real callback.
func TestLoginIgnoresForgedCallbacks(t *testing.T) {
	srv := devservertest.NewServer(t)
	testHome(t)
	l := startLogin(t, "--issuer", srv.URL, "--client-id", srv.Public.ID, "--scope", "openid")
	redirect := l.redirectURI(t)
	for _, query := range []string{
		"code=forged&state=wrong",
		"code=forged",
		"error=access_denied&state=wrong",
		"error=access_denied",
	} {
		status, page := getPage(t, redirect+"?"+query)
		if status != http.StatusBadRequest || !strings.Contains(page, "pixie ignored it") {
			t.Errorf("forged callback ?%s: %d\n%s\nwant 400 and a page saying it was ignored", query, status, page)
		}
	}
	status, page := getPage(t, srv.Authorize(t, l.authURL).String())
	if status != http.StatusOK || !strings.Contains(page, "You are logged in") {
		t.Errorf("real callback: %d\n%s\nwant 200 You are logged in", status, page)
	}
	code, stderr := l.wait(t)
	if code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d, want %d; stderr:\n%s", code, cli.ExitOK, stderr)
	}
	for _, want := range []string{"ignored a request to the redirect URI that lacks this login's state", `Logged in to profile "default" as alice`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr:\n%s\nwant %q", stderr, want)
		}
	}
}

// TestLoginPageAfterTokensAccepted checks that the browser is told "You are
// logged in" only once pixie has accepted the tokens: here the server's clock
// runs ten minutes ahead, so its ID token was issued in the future, the login
// fails, and the page says so.
func TestLoginPageAfterTokensAccepted(t *testing.T) {
	srv := devservertest.NewServer(t, func(o *devserver.Options) { o.Faults.ClockOffset = 10 * time.Minute })
	home := testHome(t)
	l := startLogin(t, "--issuer", srv.URL, "--client-id", srv.Public.ID, "--scope", "openid")
	status, page := getPage(t, srv.Authorize(t, l.authURL).String())
	code, stderr := l.wait(t)
	if code != cli.ExitFailure {
		t.Errorf("pixie login: exit code %d, want %d; stderr:\n%s", code, cli.ExitFailure, stderr)
	}
	if !strings.Contains(stderr, "ID token") {
		t.Errorf("stderr:\n%s\nwant the ID token named", stderr)
	}
	if status != http.StatusBadRequest || strings.Contains(page, "logged in") || !strings.Contains(page, "Login failed") || !strings.Contains(page, "ID token") {
		t.Errorf("callback page: %d\n%s\nwant 400, Login failed and the ID token's fault", status, page)
	}
	if _, stdout, _ := runPixie(t, "status"); strings.Contains(stdout, "default") {
		t.Errorf("pixie status after the failed login:\n%s\nwant no profile saved in %s", stdout, home)
	}
}

// TestLoginLocalhostListensOnEveryLoopback logs in with a localhost redirect
// URI: pixie listens on both 127.0.0.1 and ::1 at its port, since a browser
// may resolve localhost to either and another program could take the other.
func TestLoginLocalhostListensOnEveryLoopback(t *testing.T) {
	port := portFreeOnBothLoopbacks(t)
	redirect := "http://localhost:" + port + "/callback"
	client := devserver.Client{ID: "local", AuthMethod: pixie.AuthNone, RedirectURIs: []string{redirect}}
	srv := devservertest.NewServer(t, func(o *devserver.Options) { o.Clients = append(o.Clients, client) })
	testHome(t)
	l := startLogin(t, "--issuer", srv.URL, "--client-id", client.ID, "--scope", "openid", "--redirect-uri", redirect)
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		status, page := getPage(t, "http://"+host+":"+port+"/callback?code=x&state=wrong")
		if status != http.StatusBadRequest || !strings.Contains(page, "pixie ignored it") {
			t.Errorf("%s: %d\n%s\nwant pixie's listener", host, status, page)
		}
	}
	if status, page := getPage(t, srv.Authorize(t, l.authURL).String()); status != http.StatusOK {
		t.Errorf("real callback: %d\n%s", status, page)
	}
	if code, stderr := l.wait(t); code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d, want %d; stderr:\n%s", code, cli.ExitOK, stderr)
	}
}

// TestLoginLocalhostRefusesTakenLoopback checks that pixie login with a
// localhost redirect URI refuses to start when another program listens on
// [::1] at its port: that program would receive the code of a browser that
// resolves localhost to ::1.
func TestLoginLocalhostRefusesTakenLoopback(t *testing.T) {
	port := portFreeOnBothLoopbacks(t)
	squatter, err := net.Listen("tcp", "[::1]:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	srv := devservertest.NewServer(t)
	testHome(t)
	code, _, stderr := runPixie(t, "login", "--no-browser", "--timeout", "3s", "--issuer", srv.URL, "--client-id", srv.Public.ID,
		"--redirect-uri", "http://localhost:"+port+"/callback")
	if code != cli.ExitFailure || !strings.Contains(stderr, "[::1]:"+port) || !strings.Contains(stderr, "Another program listens there") {
		t.Errorf("pixie login: exit code %d; stderr:\n%s\nwant %d and [::1]:%s named as taken", code, stderr, cli.ExitFailure, port)
	}
}

// portFreeOnBothLoopbacks returns a port free on 127.0.0.1 and on ::1, and
// skips the test where there is no IPv6 loopback.
func portFreeOnBothLoopbacks(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln6, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		_, port, _ := net.SplitHostPort(ln6.Addr().String())
		ln4, err := net.Listen("tcp", "127.0.0.1:"+port)
		ln6.Close()
		if err == nil {
			ln4.Close()
			return port
		}
	}
	t.Fatal("found no port free on both 127.0.0.1 and ::1")
	return ""
}

// testHome gives the pixie commands of the test a fresh home and store key,
// the default profile and no browser, and returns the home.
func testHome(t *testing.T) string {
	t.Helper()
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	t.Setenv("PIXIE_HOME", home)
	t.Setenv("PIXIE_PROFILE", "")
	t.Setenv("PIXIE_STORE_KEY", key.Reveal())
	t.Setenv("BROWSER", "")
	return home
}

// runPixie runs the pixie command in process and returns its exit code and
// output.
func runPixie(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// backgroundLogin is a pixie login --no-browser running in the background:
// the test plays the browser at authURL.
type backgroundLogin struct {
	authURL string
	stderr  *watchedWriter
	code    chan int
}

// loginTimeout bounds every wait of these tests for a background login.
const loginTimeout = 20 * time.Second

// startLogin starts pixie login --no-browser with args and returns once it
// prints the authorization URL.
func startLogin(t *testing.T, args ...string) *backgroundLogin {
	t.Helper()
	l := &backgroundLogin{stderr: newWatchedWriter(), code: make(chan int, 1)}
	args = append([]string{"login", "--no-browser", "--timeout", loginTimeout.String()}, args...)
	go func() { l.code <- cli.Main(args, strings.NewReader(""), io.Discard, l.stderr) }()
	select {
	case l.authURL = <-l.stderr.authURL:
	case code := <-l.code:
		t.Fatalf("pixie login exited with %d before printing a URL; stderr:\n%s", code, l.stderr)
	case <-time.After(loginTimeout):
		t.Fatalf("pixie login printed no URL; stderr:\n%s", l.stderr)
	}
	return l
}

// redirectURI returns the redirect_uri of the login's authorization URL.
func (l *backgroundLogin) redirectURI(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(l.authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("redirect_uri")
}

// wait waits for the login to end and returns its exit code and stderr.
func (l *backgroundLogin) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case code := <-l.code:
		return code, l.stderr.String()
	case <-time.After(loginTimeout):
		t.Fatalf("pixie login did not end; stderr:\n%s", l.stderr)
		return 0, ""
	}
}

// watchedWriter records pixie login's stderr and sends the authorization URL
// it prints on authURL.
type watchedWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	sent    bool
	authURL chan string
}

func newWatchedWriter() *watchedWriter { return &watchedWriter{authURL: make(chan string, 1)} }

var openURL = regexp.MustCompile(`(?m)^Open this URL to log in: (\S+)\n`)

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := openURL.FindSubmatch(w.buf.Bytes()); m != nil && !w.sent {
		w.sent = true
		w.authURL <- string(m[1])
	}
	return len(p), nil
}

func (w *watchedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// getPage plays the browser at u: it returns the status and the page.
func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: loginTimeout}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
