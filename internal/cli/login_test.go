package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/internal/cli"
)

// TestLoginSubjectWithoutIDToken logs in with a public client at a server that
// sends no ID token, as some providers do for the device grant: pixie login
// names the user from the userinfo endpoint, and does not ask the
// introspection endpoint, which refuses public clients (RFC 7662 section 2.1).
func TestLoginSubjectWithoutIDToken(t *testing.T) {
	var introspections atomic.Int32
	issuer := startServerWithoutIDTokens(t, &introspections, "alice", "")
	testHome(t)

	for _, tt := range []struct {
		name, scope, want string
	}{
		{"openid profile", "openid profile", `Logged in to profile "tv" as alice;`},
		// Without openid, userinfo refuses the token: the subject stays unknown,
		// and the login succeeds without a word about it.
		{"no openid", "offline_access", `Logged in to profile "tv";`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stderr := &approvingWriter{t: t}
			code := cli.Main([]string{"login", "--profile", "tv", "--grant", "device_code", "--issuer", issuer,
				"--client-id", "tv", "--scope", tt.scope, "--timeout", "10s"}, strings.NewReader(""), &bytes.Buffer{}, stderr)
			out := stderr.String()
			if got, want := code, cli.ExitOK; got != want {
				t.Fatalf("pixie login: exit code %d, want %d; stderr:\n%s", got, want, out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("stderr:\n%s\nwant %q", out, tt.want)
			}
			if strings.Contains(out, "userinfo") {
				t.Errorf("stderr mentions userinfo:\n%s", out)
			}
		})
	}
	if got, want := introspections.Load(), int32(0); got != want {
		t.Errorf("%d introspection requests from a public client, want %d", got, want)
	}
}

// startServerWithoutIDTokens serves a devserver, with auto-approval, the user
// username and a public device client "tv", whose token responses lose their
// id_token and whose device authorization responses show their user_code
// followed by userCodeSuffix, and counts the requests to its introspection
// endpoint.
func startServerWithoutIDTokens(t *testing.T, introspections *atomic.Int32, username, userCodeSuffix string) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	ds, err := devserver.New(devserver.Options{
		Issuer:         issuer,
		Users:          []devserver.User{{Username: username, Password: pixie.NewSecret("wonderland"), Name: "Alice Liddell"}},
		Clients:        []devserver.Client{{ID: "tv", AuthMethod: pixie.AuthNone, GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code"}}},
		AutoApprove:    true,
		DeviceInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/introspect":
			introspections.Add(1)
		case "/token", "/device_authorization":
			rec := httptest.NewRecorder()
			ds.ServeHTTP(rec, r)
			var body map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &body) == nil {
				delete(body, "id_token")
				if code, ok := body["user_code"].(string); ok {
					body["user_code"] = code + userCodeSuffix
				}
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			json.NewEncoder(w).Encode(body)
			return
		}
		ds.ServeHTTP(w, r)
	})
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		ds.Close()
	})
	return issuer
}

// approvingWriter is pixie login's stderr: it plays the user who opens the
// verification URI with the user code that pixie prints, which the
// auto-approving devserver approves.
type approvingWriter struct {
	t    *testing.T
	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

var completeURI = regexp.MustCompile(`(?m)^Or open (\S+)\n`)

func (w *approvingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := completeURI.FindSubmatch(w.buf.Bytes()); m != nil && !w.done {
		w.done = true
		u := string(m[1])
		go func() {
			resp, err := http.Get(u)
			if err != nil {
				w.t.Errorf("opening the verification URI: %v", err)
				return
			}
			resp.Body.Close()
		}()
	}
	return len(p), nil
}

func (w *approvingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
