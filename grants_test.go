package pixie_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

// Credentials the grant tests send. Each failure path checks that none of them
// shows up in the error message.
const (
	testClientID     = "grant-test-client"
	testClientSecret = "Cl1ent-S3cret-never-printed"
	testAccessToken  = "AT-secret-0123456789"
	testRefreshToken = "RT-secret-9876543210"
)

// tokenBody is a complete RFC 6749 section 5.1 success response.
const tokenBody = `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":3600,` +
	`"refresh_token":"` + testRefreshToken + `","scope":"read write"}`

// seenRequest is one request that an authServer received.
type seenRequest struct {
	Path   string
	Header http.Header
	// Form holds the body parameters; Query the URL's.
	Form  url.Values
	Query url.Values
	// N counts the requests to Path, from 1.
	N int
}

// authServer is a loopback authorization server for the grant tests: it records
// every request and answers with the test's reply function.
type authServer struct {
	*httptest.Server
	tb    testing.TB
	mu    sync.Mutex
	seen  []seenRequest
	reply func(w http.ResponseWriter, r seenRequest)
}

func newAuthServer(tb testing.TB, reply func(w http.ResponseWriter, r seenRequest)) *authServer {
	tb.Helper()
	s := &authServer{tb: tb, reply: reply}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

func (s *authServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.tb.Errorf("%s %s: want POST", r.Method, r.URL.Path)
	}
	if got, want := r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"; got != want {
		s.tb.Errorf("%s: Content-Type = %q, want %q", r.URL.Path, got, want)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.tb.Errorf("%s: reading body: %v", r.URL.Path, err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.tb.Errorf("%s: body is not form-encoded: %v", r.URL.Path, err)
	}
	s.mu.Lock()
	req := seenRequest{Path: r.URL.Path, Header: r.Header.Clone(), Form: form, Query: r.URL.Query(), N: 1}
	for _, prev := range s.seen {
		if prev.Path == req.Path {
			req.N++
		}
	}
	s.seen = append(s.seen, req)
	s.mu.Unlock()
	s.reply(w, req)
}

// requests returns the requests received at path.
func (s *authServer) requests(path string) []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenRequest
	for _, r := range s.seen {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// only returns the single request received at path, failing the test otherwise.
func (s *authServer) only(tb testing.TB, path string) seenRequest {
	tb.Helper()
	reqs := s.requests(path)
	if len(reqs) != 1 {
		tb.Fatalf("%s received %d requests, want 1", path, len(reqs))
	}
	return reqs[0]
}

// testConfig returns a confidential client of srv with fast retries.
func testConfig(srv *authServer) *pixie.Config {
	return &pixie.Config{
		ClientID:     testClientID,
		ClientSecret: pixie.NewSecret(testClientSecret),
		Endpoint: pixie.Endpoint{
			Issuer:           srv.URL,
			AuthURL:          srv.URL + "/authorize",
			TokenURL:         srv.URL + "/token",
			DeviceAuthURL:    srv.URL + "/device",
			RevocationURL:    srv.URL + "/revoke",
			IntrospectionURL: srv.URL + "/introspect",
		},
		RedirectURL: "http://127.0.0.1:8400/callback",
		HTTPClient:  srv.Client(),
		Retry:       pixie.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
	}
}

// reply writes body with status and Content-Type.
func reply(w http.ResponseWriter, status int, contentType, body string) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// replyJSON writes a JSON body with status.
func replyJSON(w http.ResponseWriter, status int, body string) {
	reply(w, status, "application/json", body)
}

// replyToken answers every request with tokenBody.
func replyToken(w http.ResponseWriter, _ seenRequest) { replyJSON(w, http.StatusOK, tokenBody) }

// checkForm fails the test unless form holds want's values for want's keys.
func checkForm(tb testing.TB, form url.Values, want map[string]string) {
	tb.Helper()
	for k, v := range want {
		if got := form[k]; len(got) != 1 || got[0] != v {
			tb.Errorf("parameter %s = %q, want [%q]", k, got, v)
		}
	}
}

// checkAbsent fails the test if form holds any of keys.
func checkAbsent(tb testing.TB, form url.Values, keys ...string) {
	tb.Helper()
	for _, k := range keys {
		if form.Has(k) {
			tb.Errorf("parameter %s = %q, want absent", k, form[k])
		}
	}
}

// basicCredentials decodes a client_secret_basic Authorization header the way
// RFC 6749 section 2.3.1 tells a server to: base64, then form-decoding of both
// halves.
func basicCredentials(tb testing.TB, h http.Header) (id, secret string) {
	tb.Helper()
	raw, ok := strings.CutPrefix(h.Get("Authorization"), "Basic ")
	if !ok {
		tb.Fatalf("Authorization = %q, want Basic credentials", h.Get("Authorization"))
	}
	dec, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		tb.Fatalf("Basic credentials are not base64: %v", err)
	}
	encID, encSecret, ok := strings.Cut(string(dec), ":")
	if !ok {
		tb.Fatalf("Basic credentials have no colon")
	}
	if id, err = url.QueryUnescape(encID); err != nil {
		tb.Fatalf("client id is not form-encoded: %v", err)
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		tb.Fatalf("client secret is not form-encoded: %v", err)
	}
	return id, secret
}

// checkNoSecrets fails the test unless err is an error whose message holds none
// of the secrets (the test client's secret and tokens among them).
func checkNoSecrets(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatal("got no error, want one")
	}
	msg := err.Error()
	for _, s := range append([]string{testClientSecret, testAccessToken, testRefreshToken}, secrets...) {
		if strings.Contains(msg, s) {
			tb.Errorf("error %q reveals the secret %q", msg, s)
		}
	}
}

// asError returns err as a *pixie.Error, failing the test when it is not one.
func asError(tb testing.TB, err error) *pixie.Error {
	tb.Helper()
	var e *pixie.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not a *pixie.Error", err, err)
	}
	return e
}

// newStepClock returns a settable clock at a fixed start.
func newStepClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// logRecords keeps every record logged through its Logger, rendered as text.
type logRecords struct {
	mu    sync.Mutex
	lines []string
}

// Logger returns a logger that records at every level into l.
func (l *logRecords) Logger() *slog.Logger { return slog.New(recordHandler{rec: l}) }

func (l *logRecords) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

type recordHandler struct {
	rec   *logRecords
	attrs []slog.Attr
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Resolve())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.rec.mu.Lock()
	h.rec.lines = append(h.rec.lines, b.String())
	h.rec.mu.Unlock()
	return nil
}

func (h recordHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)
	return h
}

func (h recordHandler) WithGroup(string) slog.Handler { return h }
