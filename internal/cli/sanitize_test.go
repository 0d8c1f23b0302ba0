package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/cli"
)

// hostile is text a server could send to rewrite the user's terminal: erase
// the line, set the window title (OSC), return to the start of the line to
// write over the error, and a C1 CSI.
const hostile = "\x1b[2K\x1b]0;pwned\x07\rLogged in OK\u009b31m"

// hostileShown is hostile as the terminal must show it.
const hostileShown = `\x1b[2K\x1b]0;pwned\a\rLogged in OK\u009b31m`

func TestTerminalText(t *testing.T) {
	for _, tt := range []struct{ in, text, line string }{
		{"plain text, ünïcode", "plain text, ünïcode", "plain text, ünïcode"},
		{hostile, hostileShown, hostileShown},
		{"two\nlines\tand tab", "two\nlines\tand tab", `two\nlines\tand tab`},
		{"del\x7f nul\x00 bad\xff utf8", `del\x7f nul\x00 bad\xff utf8`, `del\x7f nul\x00 bad\xff utf8`},
		{"\ufffd stays", "\ufffd stays", "\ufffd stays"},
	} {
		if got := cli.TerminalText(tt.in); got != tt.text {
			t.Errorf("TerminalText(%q) = %q, want %q", tt.in, got, tt.text)
		}
		if got := cli.TerminalLine(tt.in); got != tt.line {
			t.Errorf("TerminalLine(%q) = %q, want %q", tt.in, got, tt.line)
		}
	}
}

// TestErrorDescriptionEscaped fails a login at a token endpoint whose
// error_description and error_uri carry terminal escapes: pixie prints them
// visibly escaped, so they cannot forge "Logged in OK" over the error.
func TestErrorDescriptionEscaped(t *testing.T) {
	issuer := tokenIssuer(t, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_scope",
			"error_description": hostile, "error_uri": "https://e.example/" + hostile})
	})
	testHome(t)
	code, stderr := loginClientCredentials(t, issuer.URL, "svc", "s")
	if code != cli.ExitFailure {
		t.Errorf("exit code %d, want %d", code, cli.ExitFailure)
	}
	checkTerminalSafe(t, "stderr", stderr)
	if !strings.Contains(stderr, hostileShown) {
		t.Errorf("stderr:\n%s\nwant the description shown as %s", stderr, hostileShown)
	}
}

// TestServerNamesEscaped logs in with the device grant at a server whose user
// name and user code carry terminal escapes: the user code line and the
// "Logged in as" line show them escaped.
func TestServerNamesEscaped(t *testing.T) {
	var introspections atomic.Int32
	issuer := startServerWithoutIDTokens(t, &introspections, "mallory"+hostile, hostile)
	testHome(t)
	stderr := &approvingWriter{t: t}
	code := cli.Main([]string{"login", "--grant", "device_code", "--issuer", issuer, "--client-id", "tv",
		"--scope", "openid profile", "--timeout", "10s"}, strings.NewReader(""), &bytes.Buffer{}, stderr)
	out := stderr.String()
	if code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, out)
	}
	checkTerminalSafe(t, "stderr", out)
	for _, want := range []string{"enter the code: ", `as mallory` + hostileShown + ";"} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr:\n%s\nwant %q", out, want)
		}
	}
	if strings.Count(out, hostileShown) != 2 {
		t.Errorf("stderr:\n%s\nwant the user code and the user name escaped", out)
	}
}

// TestInspectEscapesClaims decodes a token whose claims carry terminal
// escapes: the text and JSON outputs show them escaped, and the JSON still
// decodes to the same claims.
func TestInspectEscapesClaims(t *testing.T) {
	testHome(t)
	claims := map[string]any{"sub": "mallory", "name": hostile + "\x7f", "exp": json.Number("4102444800")}
	seg := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	token := seg(map[string]string{"alg": "RS256", "kid": hostile}) + "." + seg(claims) + ".c2ln"
	code, stdout, stderr := runPixie(t, "inspect", token)
	if code != cli.ExitOK {
		t.Fatalf("pixie inspect: exit code %d; stderr:\n%s", code, stderr)
	}
	checkTerminalSafe(t, "text output", stdout)
	code, stdout, stderr = runPixie(t, "inspect", "-o", "json", token)
	if code != cli.ExitOK {
		t.Fatalf("pixie inspect -o json: exit code %d; stderr:\n%s", code, stderr)
	}
	checkTerminalSafe(t, "json output", stdout)
	var got struct{ Claims map[string]any }
	d := json.NewDecoder(strings.NewReader(stdout))
	d.UseNumber()
	if err := d.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Claims, claims) {
		t.Errorf("claims decoded from the JSON output: %q, want %q", got.Claims, claims)
	}
}

// TestCurlEscapesStatusNotBody calls an API whose response status line and
// body carry terminal escapes: the body is data and goes to stdout as sent;
// the error naming the status is escaped.
func TestCurlEscapesStatusNotBody(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		body := hostile + "\n"
		// A status line cannot hold \r; the rest of hostile can.
		fmt.Fprintf(buf, "HTTP/1.1 418 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			strings.ReplaceAll(hostile, "\r", ""), len(body), body)
		buf.Flush()
	}))
	t.Cleanup(api.Close)
	srv := devservertest.NewServer(t)
	testHome(t)
	if code, stderr := loginClientCredentials(t, srv.URL, srv.Confidential.ID, srv.Confidential.Secret.Reveal()); code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, stderr)
	}
	code, stdout, stderr := runPixie(t, "curl", api.URL)
	if code != cli.ExitFailure {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, cli.ExitFailure, stderr)
	}
	if stdout != hostile+"\n" {
		t.Errorf("stdout %q, want the body as sent", stdout)
	}
	checkTerminalSafe(t, "stderr", stderr)
	if !strings.Contains(stderr, `418 \x1b[2K\x1b]0;pwned\aLogged in OK\u009b31m`) {
		t.Errorf("stderr:\n%s\nwant the status escaped", stderr)
	}
}

// checkTerminalSafe fails the test if out holds a control character other
// than newline and tab.
func checkTerminalSafe(t *testing.T, name, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }); i >= 0 {
		t.Errorf("%s holds control character %q at byte %d:\n%q", name, []rune(out[i:])[0], i, out)
	}
}

// TestOpenBrowserRefuses checks that the browser opener starts the browser
// only on an absolute https URL, or http on loopback (or with
// --allow-insecure-http): never on a value it could read as an option, a
// local file or a script.
func TestOpenBrowserRefuses(t *testing.T) {
	dir := t.TempDir()
	browser := filepath.Join(dir, "browser")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$0.args.tmp\" && mv \"$0.args.tmp\" \"$0.args\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		"--help",
		"-a",
		"file:///etc/passwd",
		"javascript:alert(1)",
		"/device",
		"https://",
		"http://192.0.2.1/device",
		"https://id.example.com/device#x",
	} {
		if err := cli.OpenBrowser(browser, u, false); err == nil {
			t.Errorf("OpenBrowser(%q) started the browser", u)
		}
	}
	for _, tt := range []struct {
		u             string
		allowInsecure bool
	}{
		{"https://id.example.com/device?user_code=ABCD-EFGH", false},
		{"http://127.0.0.1:9000/authorize?state=x", false},
		{"http://192.0.2.1/device", true},
	} {
		os.Remove(browser + ".args")
		if err := cli.OpenBrowser(browser, tt.u, tt.allowInsecure); err != nil {
			t.Errorf("OpenBrowser(%q): %v", tt.u, err)
			continue
		}
		if got := waitForFile(t, browser+".args"); got != tt.u+"\n" {
			t.Errorf("OpenBrowser(%q) passed %q", tt.u, got)
		}
	}
}

// waitForFile returns the contents of path once it exists.
func waitForFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStatusEscapesScope logs in at a token endpoint that grants a scope
// carrying terminal escapes: pixie status shows it escaped.
func TestStatusEscapesScope(t *testing.T) {
	issuer := tokenIssuer(t, func(w http.ResponseWriter) {
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer",
			"expires_in": 3600, "scope": "read " + strings.ReplaceAll(hostile, " ", "")})
	})
	testHome(t)
	if code, stderr := loginClientCredentials(t, issuer.URL, "svc", "s"); code != cli.ExitOK {
		t.Fatalf("pixie login: exit code %d; stderr:\n%s", code, stderr)
	}
	code, stdout, stderr := runPixie(t, "status")
	if code != cli.ExitOK {
		t.Fatalf("pixie status: exit code %d; stderr:\n%s", code, stderr)
	}
	checkTerminalSafe(t, "stdout", stdout)
	if !strings.Contains(stdout, `read \x1b[2K\x1b]0;pwned\a\rLoggedinOK\u009b31m`) {
		t.Errorf("stdout:\n%s\nwant the scope escaped", stdout)
	}
}

// tokenIssuer starts an authorization server that serves its metadata (RFC
// 8414, section 3) and a token endpoint whose JSON answer token writes.
func tokenIssuer(t *testing.T, token func(w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iss := "http://" + r.Host
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server":
			json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "token_endpoint": iss + "/token",
				"response_types_supported": []string{"code"}})
		case "/token":
			token(w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// loginClientCredentials runs pixie login with the client credentials grant (RFC 6749,
// section 4.4) at issuer as clientID, its secret given in an environment
// variable, and returns the exit code and stderr.
func loginClientCredentials(t *testing.T, issuer, clientID, secret string) (int, string) {
	t.Helper()
	t.Setenv("TEST_CLIENT_SECRET", secret)
	code, _, stderr := runPixie(t, "login", "--grant", "client_credentials", "--issuer", issuer,
		"--client-id", clientID, "--client-secret-env", "TEST_CLIENT_SECRET")
	return code, stderr
}
