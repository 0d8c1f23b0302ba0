package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/fakeclock"
	"github.com/pixieauth/pixie/internal/proctest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/redisstore"
)

// The tests below run this test binary again as child processes that share a
// Redis (see internal/proctest). A child finds its Redis and key prefix in
// addrEnv and prefixEnv, and its sealing keys in seal.EnvVar.
const (
	addrEnv   = "PIXIE_REDIS_CHILD_ADDR"
	prefixEnv = "PIXIE_REDIS_CHILD_PREFIX"
	fleetEnv  = "PIXIE_REDIS_FLEET_CHILD"
)

func skipProcessesInShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: starts child processes of this test binary that share a Redis and a devserver")
	}
}

// childEnv is the environment of a child of the fleet f on the Redis at addr.
func (f *fleet) childEnv(addr string) []string {
	return []string{addrEnv + "=" + addr, prefixEnv + "=" + f.prefix, seal.EnvVar + "=" + f.keys}
}

// openChildStore opens the store of a child, whose client dials with dial.
func openChildStore(dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*redisstore.Store, error) {
	c := redis.NewClient(&redis.Options{Addr: os.Getenv(addrEnv), ContextTimeoutEnabled: true, Dialer: dial})
	return redisstore.New(c, redisstore.WithPrefix(os.Getenv(prefixEnv))) // keys from seal.EnvVar
}

// TestCrashWindows kills processes renewing a token through one Redis at each
// step of the renewal, 20 times per step, against a server without and one with
// a rotation grace period (see proctest.RunCrash for what it checks).
func TestCrashWindows(t *testing.T) {
	skipProcessesInShort(t)
	f := newFleet(t)
	proctest.RunCrash(t, proctest.Crash{
		Test: "TestHelperCrashChild",
		Lane: func(tb testing.TB, _ string) ([]string, pixie.Store) {
			return f.childEnv(f.addr), f.replica(tb)
		},
		Kills:       20,
		LockTTL:     10 * time.Second,
		KilledLease: time.Second,
		Grace:       time.Minute,
	})
}

// TestHelperCrashChild is the body of TestCrashWindows's child processes; it
// skips unless run as one.
func TestHelperCrashChild(t *testing.T) {
	proctest.CrashChild(t, func() (proctest.CrashStore, error) {
		var hook atomic.Pointer[func()]
		save := []byte(os.Getenv(prefixEnv) + "token:")
		st, err := openChildStore(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &halfWriteConn{Conn: c, hook: &hook, match: save}, nil
		})
		return proctest.CrashStore{Store: st, ArmDuringSave: func(h func()) { hook.Store(&h) }}, err
	})
}

// halfWriteConn stops a Save halfway through sending it: once armed, it writes
// the first half of the next script call (EVALSHA or EVAL) on a token key, then
// calls the hook. Redis runs a command only once it has read all of it, so the
// save cannot take effect before the process dies.
type halfWriteConn struct {
	net.Conn
	hook  *atomic.Pointer[func()]
	match []byte
}

func (c *halfWriteConn) Write(p []byte) (int, error) {
	if h := c.hook.Load(); h != nil && bytes.Contains(p, c.match) && bytes.Contains(bytes.ToLower(p), []byte("eval")) {
		if n, err := c.Conn.Write(p[:len(p)/2]); err != nil {
			return n, err
		}
		(*h)()
	}
	return c.Conn.Write(p)
}

// fleetSpec configures a child of TestProcessesRefreshOncePerExpiry.
type fleetSpec struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Goroutines   int
}

// TestProcessesRefreshOncePerExpiry: 4 processes share a redis-server of the
// test's own and a devserver that rotates refresh tokens and revokes the grant
// on reuse. Each has 25 goroutines calling Token as the shared fake clock crosses
// the token's expiry, 1,000 times: every expiry costs exactly one refresh, none
// fails, and every caller gets the stored token. Halfway, Redis crashes: while
// it is down the processes serve the token they hold, past its refresh point
// but before its expiry, with no token request; once it is back, which it is
// with the token it acknowledged, they go on refreshing once per expiry.
func TestProcessesRefreshOncePerExpiry(t *testing.T) {
	skipProcessesInShort(t)
	const procs, callers, expiries = 4, 25, 1000
	rs := startRedis(t)
	f := newFleet(t)
	clock := fakeclock.New(time.Now())
	dev := devservertest.NewServer(t, func(o *devserver.Options) {
		o.AccessTokenFormat = devserver.FormatOpaque
		o.Now = clock.Now
	})
	cfg := dev.Config(dev.Confidential)
	cfg.Scopes = []string{"offline_access"}
	cfg.Now = clock.Now
	st, err := redisstore.New(newClient(t, rs.addr), redisstore.WithPrefix(f.prefix), redisstore.WithKeys(f.keys))
	if err != nil {
		t.Fatal(err)
	}
	const key = "fleet"
	if _, err := st.Save(t.Context(), key, proctest.Login(t, dev, cfg), 0); err != nil {
		t.Fatal(err)
	}
	stored := func() *pixie.Token {
		t.Helper()
		tok, _, err := st.Load(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	refreshes := func(status int) int {
		return dev.Count(devserver.Match{Endpoint: "token", GrantType: "refresh_token", Status: status})
	}
	spec, err := json.Marshal(fleetSpec{TokenURL: cfg.Endpoint.TokenURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(), Goroutines: callers})
	if err != nil {
		t.Fatal(err)
	}
	env := append(f.childEnv(rs.addr), fleetEnv+"="+string(spec))
	children := make([]*proctest.Child, procs)
	for i := range children {
		children[i] = proctest.Start(t, fmt.Sprintf("child %d", i+1), "TestHelperFleetChild", env...)
	}
	for _, c := range children {
		c.Expect(t, "ready")
	}
	// round tells every child the clock's time and checks that all their
	// callers got the token the store holds (or held, while Redis is down),
	// and that the server answered want more refresh requests, all
	// successfully.
	round := func(name string, want int, held *pixie.Token) {
		t.Helper()
		all := refreshes(0)
		tick := "tick " + strconv.FormatInt(clock.Now().UnixNano(), 10)
		for _, c := range children {
			c.Send(t, tick)
		}
		answers := make([]string, len(children))
		for i, c := range children {
			answers[i] = c.Expect(t, "tokens ")
		}
		// The server counts a request once it has answered it; wait for that.
		deadline := time.Now().Add(proctest.AnswerTimeout)
		for refreshes(0) < all+want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := refreshes(0) - all; got != want {
			t.Fatalf("%s: %d refresh requests reached the server, want %d", name, got, want)
		}
		if failed := refreshes(0) - refreshes(http.StatusOK); failed != 0 {
			t.Fatalf("%s: %d refresh requests failed", name, failed)
		}
		if held == nil {
			held = stored()
		}
		wantTokens := fmt.Sprintf("%s (%d callers)", proctest.Fingerprint(held.AccessToken), callers)
		for i, got := range answers {
			if got != wantTokens {
				t.Fatalf("%s: %s's callers got %s; want all on the stored token, %s", name, children[i].Name, got, wantTokens)
			}
		}
	}

	round("start", 0, nil) // the children take up the stored token
	start := time.Now()
	for e := 1; e <= expiries; e++ {
		if e == expiries/2 {
			held := stored()
			rs.crash(t)
			// Past the refresh point and Skew, before the expiry: the
			// renewal cannot lock the store, so the held token is served.
			clock.Set(held.Expiry.Add(-time.Second))
			round("Redis down", 0, held)
			rs.start(t)
		}
		clock.Set(stored().Expiry.Add(time.Second))
		round(fmt.Sprintf("expiry %d", e), 1, nil)
	}
	elapsed := time.Since(start)
	for _, c := range children {
		c.Send(t, "stop")
	}
	for _, c := range children {
		c.Finish(t)
	}
	t.Logf("%d expiries in %v: %d refresh requests, %d failed; %d processes × %d callers; Redis crashed and restarted after expiry %d",
		expiries, elapsed.Round(time.Millisecond), refreshes(0), refreshes(0)-refreshes(http.StatusOK), procs, callers, expiries/2-1)
}

// TestHelperFleetChild is the body of TestProcessesRefreshOncePerExpiry's
// child processes; it skips unless run as one. Told "tick <unix ns>", it sets
// its clock and has its goroutines call Token at once, then prints what they
// got ("tokens <tally>"); told "stop", it exits.
func TestHelperFleetChild(t *testing.T) {
	js := os.Getenv(fleetEnv)
	if js == "" {
		t.Skip("a child process of the fleet tests; it runs only when they start it")
	}
	if err := runFleetChild(js); err != nil {
		proctest.Die(err)
	}
	os.Exit(0)
}

func runFleetChild(js string) error {
	var spec fleetSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		return err
	}
	st, err := openChildStore(nil)
	if err != nil {
		return err
	}
	clock := fakeclock.New(time.Time{})
	cfg := &pixie.Config{
		ClientID:     spec.ClientID,
		ClientSecret: pixie.NewSecret(spec.ClientSecret),
		AuthMethod:   pixie.ClientSecretBasic,
		Endpoint:     pixie.Endpoint{TokenURL: spec.TokenURL},
		Now:          clock.Now,
	}
	src := cfg.RefreshSource(pixie.SourceOptions{Store: st, Key: "fleet", Now: clock.Now})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fmt.Println("ready")
	for {
		var msg string
		var ns int64
		if _, err := fmt.Scan(&msg); err != nil {
			return err
		}
		switch msg {
		case "stop":
			return nil
		case "tick":
			if _, err := fmt.Scan(&ns); err != nil {
				return err
			}
			clock.Set(time.Unix(0, ns))
			fmt.Println("tokens " + proctest.CallAll(ctx, spec.Goroutines, src.Token))
		default:
			return fmt.Errorf("unexpected message %q", msg)
		}
	}
}
