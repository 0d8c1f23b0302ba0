package sqlitestore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/proctest"
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
)

// childSpec configures a child. Mode is "tokens" (TestProcessesRefreshOncePerExpiry)
// or "rotate" (TestProcessesRotateWithoutReuse).
type childSpec struct {
	Mode         string
	Store        string
	TokenURL     string
	ClientID     string
	ClientSecret string
	Goroutines   int
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
			c.Send(t, tick)
		}
		answers := make([]string, len(children))
		for i, c := range children {
			answers[i] = c.Expect(t, "tokens ")
		}
		f.front.await(t, "idle", func(fr *front) bool { return fr.active == 0 })

		want := fmt.Sprintf("%s (%d callers)", proctest.Fingerprint(f.stored(t).AccessToken), callers)
		for i, got := range answers {
			if got != want {
				t.Errorf("round %d: %s's callers got %s; want all on the stored token, %s", round, children[i].Name, got, want)
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
		c.Send(t, "stop")
	}
	for _, c := range children {
		c.Finish(t)
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
		c.Send(t, "go")
	}

	// The fleet must make progress: the test fails when no refresh succeeds
	// for AnswerTimeout, however long a loaded machine takes for all of them.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	progress, stalled := 0, time.Now().Add(proctest.AnswerTimeout)
	for f.refreshes(http.StatusOK) < target {
		if n := f.refreshes(http.StatusOK); n > progress {
			progress, stalled = n, time.Now().Add(proctest.AnswerTimeout)
		}
		if failed := f.refreshes(0) - f.refreshes(http.StatusOK); failed > 0 {
			t.Fatalf("after %d successful refreshes, %d refresh_token requests failed: a rotated-out refresh token was reused", f.refreshes(http.StatusOK), failed)
		}
		for _, c := range children {
			if c.Exited() {
				t.Fatalf("%s exited after %d refreshes in all: %s", c.Name, f.refreshes(http.StatusOK), c.Status())
			}
		}
		if time.Now().After(stalled) {
			t.Fatalf("no refresh succeeded for %v, after %d of %d", proctest.AnswerTimeout, progress, target)
		}
		<-tick.C
	}
	elapsed := time.Since(start)
	for _, c := range children {
		c.Send(t, "stop")
	}
	sent := make([]int, len(children))
	var forced int
	for i, c := range children {
		var n int
		if _, err := fmt.Sscanf(c.Expect(t, "done "), "requests=%d forced=%d", &sent[i], &n); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		forced += n
		c.Finish(t)
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
	opt := pixie.SourceOptions{Store: st, Key: fleetKey}
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
			fmt.Println("tokens " + proctest.CallAll(ctx, spec.Goroutines, src.Token))
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
						proctest.Die(fmt.Errorf("ForceRefresh: %w", err))
					}
					forced.Add(1)
					tok, err := src.Token(ctx)
					if err != nil {
						proctest.Die(fmt.Errorf("Token: %w", err))
					}
					if !tok.Expiry.After(time.Now()) {
						proctest.Die(fmt.Errorf("Token returned a token that expired at %v", tok.Expiry))
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
	default:
		return fmt.Errorf("unknown mode %q", spec.Mode)
	}
	return in.Err()
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
	f.cfg.HTTPClient = &http.Client{Transport: tr, Timeout: proctest.AnswerTimeout}
	f.cfg.Scopes = []string{"offline_access"}
	f.cfg.Now = now
	f.keys = mustKeySet(t, f.key)
	f.path = filepath.Join(t.TempDir(), "tokens.db")
	f.store = mustOpen(t, f.path, sqlitestore.WithKeySet(f.keys))
	storetest.MustSave(t, f.store, fleetKey, proctest.Login(t, f.dev, f.cfg), 0)
	return f
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
func (f *fleet) spawn(t *testing.T, n int, spec childSpec) []*proctest.Child {
	t.Helper()
	spec.Store, spec.TokenURL = f.path, f.cfg.Endpoint.TokenURL
	spec.ClientID, spec.ClientSecret = f.cfg.ClientID, f.cfg.ClientSecret.Reveal()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	children := make([]*proctest.Child, n)
	for i := range children {
		f.started++
		children[i] = proctest.Start(t, fmt.Sprintf("child %d", f.started), "TestHelperFleetChild",
			fleetEnv+"="+string(js), seal.EnvVar+"="+f.key.Reveal())
	}
	for _, c := range children {
		c.Expect(t, "ready")
	}
	return children
}

// front serves the devserver's endpoints to the children and the parent's
// client, and counts the requests being served, so that the test can wait until
// every request has been answered and counted.
type front struct {
	dev *devservertest.Server
	ts  *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, whenever the count changes
	active  int           // requests being served
}

func newFront(t *testing.T, dev *devservertest.Server) *front {
	fr := &front{dev: dev, changed: make(chan struct{})}
	fr.ts = httptest.NewServer(fr)
	t.Cleanup(fr.ts.Close)
	return fr
}

func (fr *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fr.update(func() { fr.active++ })
	defer fr.update(func() { fr.active-- })
	fr.dev.ServeHTTP(w, r)
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
	timeout := time.After(proctest.AnswerTimeout)
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
			t.Fatalf("the token server was not %s after %v", what, proctest.AnswerTimeout)
		}
	}
}
