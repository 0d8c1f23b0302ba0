package sqlitestore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
	"github.com/pixieauth/pixie/storetest"
)

// The fleet tests run pixie's token lifecycle in several OS processes that share
// one SQLite store and one devserver, which rotates refresh tokens and revokes a
// whole grant when a rotated-out refresh token comes back. Each child is this
// test binary run again as TestHelperFleetChild (the helper process pattern),
// configured by fleetEnv; it opens the store with the key in seal.EnvVar and
// talks to the test over stdin and stdout, one line per message. Children never
// print a token, only fingerprints.
const (
	fleetEnv = "PIXIE_FLEET_CHILD"
	fleetKey = "k"

	// answerTimeout bounds the wait for any one message from a child or for
	// the token server to settle.
	answerTimeout = time.Minute
)

// childSpec configures a child. Mode is "tokens" (TestProcessesRefreshOncePerExpiry),
// "rotate" (TestProcessesRotateWithoutReuse) or "crash" (TestProcessKilledDuringRefresh).
type childSpec struct {
	Mode         string
	Store        string
	TokenURL     string
	ClientID     string
	ClientSecret string
	Goroutines   int
	LockTTL      time.Duration
}

func skipFleetInShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: starts child processes of this test binary that share one SQLite store and a devserver")
	}
}

// TestProcessesRefreshOncePerExpiry: 8 processes, each with 50 goroutines
// calling Token as the shared fake clock crosses the token's expiry, cause one
// refresh per expiry, and every caller gets the token that refresh stored.
func TestProcessesRefreshOncePerExpiry(t *testing.T) {
	skipFleetInShort(t)
	const procs, callers, rounds = 8, 50, 10
	clock := &fakeClock{}
	clock.set(time.Now())
	f := newFleet(t, clock.Now)
	children := f.spawn(t, procs, childSpec{Mode: "tokens", Goroutines: callers})

	// Round 0 is at the login's time: the children take up the stored token
	// with no request. Every later round moves the clock past the expiry of
	// the token the previous round stored, and tells every child at once.
	for round := range rounds + 1 {
		wantRefreshes := 1
		if round == 0 {
			wantRefreshes = 0
		} else {
			clock.set(f.stored(t).Expiry.Add(time.Second))
		}
		all, ok := f.refreshes(0), f.refreshes(http.StatusOK)
		tick := "tick " + strconv.FormatInt(clock.Now().UnixNano(), 10)
		for _, c := range children {
			c.send(t, tick)
		}
		answers := make([]string, len(children))
		for i, c := range children {
			answers[i] = c.expect(t, "tokens ")
		}
		f.front.await(t, "idle", func(fr *front) bool { return fr.active == 0 })

		want := fmt.Sprintf("%s (%d callers)", fingerprint(f.stored(t).AccessToken), callers)
		for i, got := range answers {
			if got != want {
				t.Errorf("round %d: %s's callers got %s; want all on the stored token, %s", round, children[i].name, got, want)
			}
		}
		if got, want := f.refreshes(0)-all, wantRefreshes; got != want {
			t.Errorf("round %d: %d refresh_token requests reached the server, want %d", round, got, want)
		}
		if got, want := f.refreshes(http.StatusOK)-ok, wantRefreshes; got != want {
			t.Errorf("round %d: %d refresh_token requests succeeded, want %d", round, got, want)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	for _, c := range children {
		c.send(t, "stop")
	}
	for _, c := range children {
		c.finish(t)
	}
	t.Logf("%d rounds: %d processes × %d callers each, %d refreshes in all", rounds, procs, callers, f.refreshes(0))
}

// TestProcessesRotateWithoutReuse: 8 processes force refreshes concurrently
// until the server has rotated the refresh token 1,000 times. The devserver
// revokes the whole grant when a rotated-out refresh token is presented again,
// so a single reuse would fail every later refresh.
func TestProcessesRotateWithoutReuse(t *testing.T) {
	skipFleetInShort(t)
	const procs, goroutines, target = 8, 4, 1000
	f := newFleet(t, nil)
	children := f.spawn(t, procs, childSpec{Mode: "rotate", Goroutines: goroutines})
	start := time.Now()
	for _, c := range children {
		c.send(t, "go")
	}

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * answerTimeout)
	for f.refreshes(http.StatusOK) < target {
		if failed := f.refreshes(0) - f.refreshes(http.StatusOK); failed > 0 {
			t.Fatalf("after %d successful refreshes, %d refresh_token requests failed: a rotated-out refresh token was reused", f.refreshes(http.StatusOK), failed)
		}
		for _, c := range children {
			if c.exited() {
				t.Fatalf("%s exited after %d refreshes in all: %v; its stderr:\n%s", c.name, f.refreshes(http.StatusOK), c.waitErr, c.stderr.String())
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("only %d of %d refreshes after %v", f.refreshes(http.StatusOK), target, 2*answerTimeout)
		}
	}
	elapsed := time.Since(start)
	for _, c := range children {
		c.send(t, "stop")
	}
	sent := make([]int, len(children))
	var forced int
	for i, c := range children {
		var n int
		if _, err := fmt.Sscanf(c.expect(t, "done "), "requests=%d forced=%d", &sent[i], &n); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		forced += n
		c.finish(t)
	}
	f.front.await(t, "idle", func(fr *front) bool { return fr.active == 0 })

	total, ok := f.refreshes(0), f.refreshes(http.StatusOK)
	if got, want := total-ok, 0; got != want {
		t.Errorf("%d of %d refresh_token requests failed, want %d", got, total, want)
	}
	var sum int
	for _, n := range sent {
		sum += n
	}
	if got, want := sum, total; got != want {
		t.Errorf("the children sent %d refresh requests, the server counted %d", got, want)
	}

	// The token the fleet left in the store carries the live refresh token.
	src := f.cfg.RefreshSource(pixie.SourceOptions{Store: mustOpen(t, f.path, sqlitestore.WithKeySet(f.keys)), Key: fleetKey})
	if _, err := src.ForceRefresh(t.Context()); err != nil {
		t.Fatalf("refreshing the stored token after %d rotations: %v", ok, err)
	}
	if got, want := f.refreshes(http.StatusOK), ok+1; got != want {
		t.Errorf("successful refreshes = %d after the final refresh, want %d", got, want)
	}
	t.Logf("%d refreshes in %v (%.0f/s) for %d ForceRefresh calls; requests per process: %v",
		ok, elapsed.Round(time.Millisecond), float64(ok)/elapsed.Seconds(), forced, sent)
}

// TestProcessKilledDuringRefresh kills a child with SIGKILL at random points
// while it refreshes in a loop, and checks after every kill that the store opens
// and holds one of the last two tokens the server issued, intact.
//
// It does not check that the stored token still refreshes: a kill after the
// server rotated the refresh token but before the child saved the response
// loses the new refresh token (only the server and the dead process saw it), and
// the stored one, rotated out, is then refused. The store holds the previous
// token, as it must; the test then logs in again to go on.
func TestProcessKilledDuringRefresh(t *testing.T) {
	skipFleetInShort(t)
	const kills = 15
	// The children's LockTTL, short since every kill costs up to one lease;
	// still hundreds of times longer than a refresh.
	const lockTTL = 1500 * time.Millisecond
	f := newFleet(t, nil)
	var kept, lost int
	for i := range kills {
		c := f.spawn(t, 1, childSpec{Mode: "crash", LockTTL: lockTTL})[0]
		// Every third child dies at once, often while it waits for the lease
		// of its killed predecessor; the others once they have refreshed one
		// to three times.
		if i%3 != 0 {
			for range rand.N(3) + 1 {
				c.expect(t, "refreshed ")
			}
		}
		time.Sleep(rand.N(20 * time.Millisecond))
		c.kill(t)
		// Every request of the dead child has been answered once the
		// server has closed all its connections.
		f.front.await(t, "without connections", func(fr *front) bool { return fr.conns == 0 })

		st, err := sqlitestore.Open(f.path, sqlitestore.WithKeySet(f.keys))
		if err != nil {
			t.Fatalf("after kill %d: opening the store: %v", i+1, err)
		}
		tok, ver, err := st.Load(t.Context(), fleetKey)
		if err != nil {
			st.Close()
			t.Fatalf("after kill %d: loading the token: %v", i+1, err)
		}
		n, last := f.front.issuedIndex(tok), f.front.issuedCount()-1
		switch n {
		case last:
			kept++
		case last - 1:
			lost++
			// The server rotated the stored refresh token out: log in again,
			// as a user would. No child runs, so the save needs no lock.
			if _, err := st.Save(t.Context(), fleetKey, f.login(t), ver); err != nil {
				st.Close()
				t.Fatalf("after kill %d: saving a new login: %v", i+1, err)
			}
		default:
			st.Close()
			t.Fatalf("after kill %d: the stored token is not one of the last two the server issued (it is number %d of %d; -1: never issued)", i+1, n, last+1)
		}
		// The killed child usually held the lock: its lease must lapse
		// within its ttl. Waiting for that here also keeps the next child's
		// first renewal, whose LockTTL budget includes the wait for the
		// lock, from spending that budget on a dead child's lease.
		lctx, cancel := context.WithTimeout(t.Context(), 5*lockTTL)
		lease, err := st.Lock(lctx, fleetKey, lockTTL)
		cancel()
		if err != nil {
			st.Close()
			t.Fatalf("after kill %d: the killed child's lock did not lapse: %v", i+1, err)
		}
		lease.Unlock(t.Context())
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills: %d left the newest token stored, %d the previous one (a rotation lost with the process); %d refreshes in all",
		kills, kept, lost, f.refreshes(http.StatusOK))
}

// TestHelperFleetChild is the body of the fleet tests' child processes; it
// skips unless run as one.
func TestHelperFleetChild(t *testing.T) {
	spec := os.Getenv(fleetEnv)
	if spec == "" {
		t.Skip("the child process of the fleet tests; it runs only when they start it")
	}
	if err := runFleetChild(spec); err != nil {
		fmt.Fprintf(os.Stderr, "fleet child: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runFleetChild(specJSON string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return err
	}
	st, err := sqlitestore.Open(spec.Store, sqlitestore.WithResolver(seal.Resolver{Env: seal.EnvVar}))
	if err != nil {
		return err
	}
	defer st.Close()
	requests := &countingTransport{base: http.DefaultTransport}
	cfg := &pixie.Config{
		ClientID:     spec.ClientID,
		ClientSecret: pixie.NewSecret(spec.ClientSecret),
		AuthMethod:   pixie.ClientSecretBasic,
		Endpoint:     pixie.Endpoint{TokenURL: spec.TokenURL},
		HTTPClient:   &http.Client{Transport: requests},
	}
	opt := pixie.SourceOptions{Store: st, Key: fleetKey, LockTTL: spec.LockTTL}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	in := bufio.NewScanner(os.Stdin)
	switch spec.Mode {
	case "tokens":
		clock := &fakeClock{}
		cfg.Now, opt.Now = clock.Now, clock.Now
		src := cfg.RefreshSource(opt)
		fmt.Println("ready")
		for in.Scan() {
			if in.Text() == "stop" {
				return nil
			}
			ns, err := strconv.ParseInt(strings.TrimPrefix(in.Text(), "tick "), 10, 64)
			if err != nil {
				return fmt.Errorf("unexpected message %q", in.Text())
			}
			clock.ns.Store(ns)
			fmt.Println("tokens " + callAll(ctx, spec.Goroutines, src.Token))
		}
	case "rotate":
		src := cfg.RefreshSource(opt)
		fmt.Println("ready")
		if !in.Scan() || in.Text() != "go" {
			return fmt.Errorf("unexpected message %q", in.Text())
		}
		stop := make(chan struct{})
		var forced atomic.Int64
		var wg sync.WaitGroup
		for range spec.Goroutines {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := src.ForceRefresh(ctx); err != nil {
						die(fmt.Errorf("ForceRefresh: %w", err))
					}
					forced.Add(1)
					tok, err := src.Token(ctx)
					if err != nil {
						die(fmt.Errorf("Token: %w", err))
					}
					if !tok.Expiry.After(time.Now()) {
						die(fmt.Errorf("Token returned a token that expired at %v", tok.Expiry))
					}
				}
			})
		}
		if !in.Scan() || in.Text() != "stop" {
			return fmt.Errorf("unexpected message %q", in.Text())
		}
		close(stop)
		wg.Wait()
		fmt.Printf("done requests=%d forced=%d\n", requests.n.Load(), forced.Load())
		return nil
	case "crash":
		src := cfg.RefreshSource(opt)
		fmt.Println("ready")
		for i := 1; ; i++ {
			if _, err := src.ForceRefresh(ctx); err != nil {
				return fmt.Errorf("refresh %d: %w", i, err)
			}
			if i <= 3 { // the test waits for at most three
				fmt.Println("refreshed", i)
			}
		}
	default:
		return fmt.Errorf("unknown mode %q", spec.Mode)
	}
	return in.Err()
}

// die ends a child from any goroutine.
func die(err error) {
	fmt.Fprintf(os.Stderr, "fleet child: %v\n", err)
	os.Exit(1)
}

// callAll calls token from n goroutines released at once, and tallies what they
// got: "<fingerprint> (<n> callers)" for each token, and the errors.
func callAll(ctx context.Context, n int, token func(context.Context) (*pixie.Token, error)) string {
	results := make([]string, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			tok, err := token(ctx)
			if err != nil {
				results[i] = "error: " + err.Error()
				return
			}
			results[i] = fingerprint(tok.AccessToken)
		})
	}
	close(start)
	wg.Wait()
	tally := map[string]int{}
	for _, r := range results {
		tally[r]++
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(tally)) {
		parts = append(parts, fmt.Sprintf("%s (%d callers)", r, tally[r]))
	}
	return strings.Join(parts, "; ")
}

// fingerprint names a secret without revealing it: the start of its SHA-256.
func fingerprint(s pixie.Secret) string {
	sum := sha256.Sum256([]byte(s.Reveal()))
	return hex.EncodeToString(sum[:6])
}

// fakeClock is a clock the test sets; the children's copies follow the
// parent's through the "tick" messages.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// countingTransport counts the requests a child sends.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// fleet is the parent's side: a devserver, a front server the children use as
// the token endpoint, and the store file with its key, holding a first token
// from a login.
type fleet struct {
	dev   *devservertest.Server
	front *front
	cfg   *pixie.Config
	path  string
	key   seal.Key
	keys  *seal.KeySet
	store *sqlitestore.Store

	started int // children started, to name them
}

// newFleet starts the servers with now as their clock (nil: the real one), logs
// in, and stores the token in a new store.
func newFleet(t *testing.T, now func() time.Time) *fleet {
	t.Helper()
	dev := devservertest.NewServer(t, func(o *devserver.Options) {
		// Opaque access tokens spare the server an RSA signature per refresh.
		o.AccessTokenFormat = devserver.FormatOpaque
		o.Now = now
	})
	f := &fleet{dev: dev, front: newFront(t, dev), key: newKey(t)}
	f.cfg = dev.Config(dev.Confidential)
	f.cfg.Endpoint.TokenURL = f.front.ts.URL + "/token"
	// Without keep-alive, the parent holds no connection to the front server.
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	f.cfg.HTTPClient = &http.Client{Transport: tr, Timeout: answerTimeout}
	f.cfg.Scopes = []string{"offline_access"}
	f.cfg.Now = now
	f.keys = mustKeySet(t, f.key)
	f.path = filepath.Join(t.TempDir(), "tokens.db")
	f.store = mustOpen(t, f.path, sqlitestore.WithKeySet(f.keys))
	storetest.MustSave(t, f.store, fleetKey, f.login(t), 0)
	return f
}

// login runs the authorization code flow and returns a token with a refresh
// token.
func (f *fleet) login(t *testing.T) *pixie.Token {
	t.Helper()
	ar, err := f.cfg.NewAuthRequest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.cfg.HandleCallback(t.Context(), ar, f.dev.Authorize(t, ar.URL).Query())
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if tok.RefreshToken.IsZero() {
		t.Fatal("login: the server issued no refresh token")
	}
	return tok
}

// stored returns the token in the store.
func (f *fleet) stored(t *testing.T) *pixie.Token {
	t.Helper()
	tok, _ := storetest.MustLoad(t, f.store, fleetKey)
	return tok
}

// refreshes counts the refresh_token grants the server answered with status (0:
// any).
func (f *fleet) refreshes(status int) int {
	return f.dev.Count(devserver.Match{Endpoint: "token", GrantType: "refresh_token", ClientID: f.cfg.ClientID, Status: status})
}

// spawn starts n children with spec and waits until each is ready.
func (f *fleet) spawn(t *testing.T, n int, spec childSpec) []*fleetChild {
	t.Helper()
	spec.Store, spec.TokenURL = f.path, f.cfg.Endpoint.TokenURL
	spec.ClientID, spec.ClientSecret = f.cfg.ClientID, f.cfg.ClientSecret.Reveal()
	children := make([]*fleetChild, n)
	for i := range children {
		f.started++
		children[i] = startChild(t, fmt.Sprintf("child %d", f.started), spec, f.key)
	}
	for _, c := range children {
		c.expect(t, "ready")
	}
	return children
}

// fleetChild is a running child process.
type fleetChild struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string   // its stdout, closed at the end
	done    chan struct{} // closed once it is reaped
	waitErr error         // set before done is closed
	stderr  syncBuffer
}

// startChild starts this test binary as a fleet child. The child is killed and
// reaped when the test ends, whatever its outcome.
func startChild(t *testing.T, name string, spec childSpec, key seal.Key) *fleetChild {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &fleetChild{name: name, lines: make(chan string, 16), done: make(chan struct{})}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperFleetChild$")
	c.cmd.Env = append(os.Environ(), fleetEnv+"="+string(js), seal.EnvVar+"="+key.Reveal())
	c.cmd.Stderr = &c.stderr
	c.cmd.WaitDelay = 10 * time.Second
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.waitErr = c.cmd.Wait() // after the last read, as os/exec requires
		close(c.done)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill() // an error means it has exited already
		for range c.lines {
		}
		<-c.done
	})
	return c
}

func (c *fleetChild) send(t *testing.T, msg string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, msg+"\n"); err != nil {
		t.Fatalf("telling %s %q: %v; %s", c.name, msg, err, c.status())
	}
}

// expect returns the rest of the child's next line, which must start with prefix.
func (c *fleetChild) expect(t *testing.T, prefix string) string {
	t.Helper()
	var (
		line string
		ok   bool
	)
	select {
	case line, ok = <-c.lines:
	case <-time.After(answerTimeout):
		t.Fatalf("%s did not say %q within %v; %s", c.name, prefix, answerTimeout, c.status())
	}
	if !ok {
		<-c.done
		t.Fatalf("%s exited while the test waited for %q; %s", c.name, prefix, c.status())
	}
	rest, found := strings.CutPrefix(line, prefix)
	if !found {
		t.Fatalf("%s said %q, want %q...", c.name, line, prefix)
	}
	return rest
}

// exited reports whether the child has ended.
func (c *fleetChild) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// finish waits for the child to exit, which it must do successfully.
func (c *fleetChild) finish(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(answerTimeout):
		t.Fatalf("%s did not exit within %v", c.name, answerTimeout)
	}
	if c.waitErr != nil {
		t.Fatalf("%s: %s", c.name, c.status())
	}
}

// kill kills the child with SIGKILL (os.Process.Kill) and reaps it; it must
// not have ended by itself before.
func (c *fleetChild) kill(t *testing.T) {
	t.Helper()
	c.cmd.Process.Kill()
	for range c.lines {
	}
	<-c.done
	if c.cmd.ProcessState.Exited() {
		t.Fatalf("%s ended before it was killed: %s", c.name, c.status())
	}
}

// status describes how the child ended, with its stderr; call it after done.
func (c *fleetChild) status() string {
	if !c.exited() {
		return "stderr so far:\n" + c.stderr.String()
	}
	return fmt.Sprintf("exit: %v; stderr:\n%s", c.waitErr, c.stderr.String())
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

// front serves the devserver's endpoints to the children and the parent's
// client, and keeps track of them: the requests and connections open, and the
// fingerprints of every token the server issued, in order.
type front struct {
	dev *devservertest.Server
	ts  *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, whenever the counts change
	active  int           // requests being served
	conns   int           // connections open
	issued  []string      // access and refresh token fingerprints of each token response
}

func newFront(t *testing.T, dev *devservertest.Server) *front {
	fr := &front{dev: dev, changed: make(chan struct{})}
	fr.ts = httptest.NewUnstartedServer(fr)
	fr.ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			fr.update(func() { fr.conns++ })
		case http.StateClosed, http.StateHijacked:
			fr.update(func() { fr.conns-- })
		}
	}
	fr.ts.Start()
	t.Cleanup(fr.ts.Close)
	return fr
}

func (fr *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fr.update(func() { fr.active++ })
	tw := &teeWriter{ResponseWriter: w}
	fr.dev.ServeHTTP(tw, r)
	var resp struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	issued := r.URL.Path == "/token" && tw.status == http.StatusOK &&
		json.Unmarshal(tw.body.Bytes(), &resp) == nil && resp.RefreshToken != ""
	fr.update(func() {
		fr.active--
		if issued {
			fr.issued = append(fr.issued, pairPrint(pixie.NewSecret(resp.AccessToken), pixie.NewSecret(resp.RefreshToken)))
		}
	})
}

func (fr *front) update(change func()) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	change()
	close(fr.changed)
	fr.changed = make(chan struct{})
}

// await waits until cond holds; what describes it in the failure.
func (fr *front) await(t *testing.T, what string, cond func(*front) bool) {
	t.Helper()
	timeout := time.After(answerTimeout)
	for {
		fr.mu.Lock()
		ok, changed := cond(fr), fr.changed
		fr.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the token server was not %s after %v", what, answerTimeout)
		}
	}
}

// issuedIndex returns the position of tok among the tokens issued, or -1.
func (fr *front) issuedIndex(tok *pixie.Token) int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return slices.Index(fr.issued, pairPrint(tok.AccessToken, tok.RefreshToken))
}

func (fr *front) issuedCount() int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return len(fr.issued)
}

func pairPrint(access, refresh pixie.Secret) string {
	return fingerprint(access) + "/" + fingerprint(refresh)
}

// teeWriter keeps a copy of a response.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
