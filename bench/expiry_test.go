package bench_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/proctest"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/redisstore"
	"github.com/pixieauth/pixie/sqlitestore"
)

// The expiry benchmarks run against a token endpoint whose tokens live
// expiryLifetime seconds and which answers after expiryDelay, the time in which
// callers arriving at an expiry pile up. pixie (Skew) and x/oauth2 (its expiry
// delta) both stop serving a token expiryEarly before it expires, so both renew
// every renewEvery; pixie's refresh-ahead is off so that neither renews sooner.
const (
	expiryLifetime = 2
	expiryEarly    = time.Second
	renewEvery     = expiryLifetime*time.Second - expiryEarly
	expiryDelay    = 20 * time.Millisecond
	// callerPause is the time between two token calls of one caller: an API
	// client's pace, not a spin that would starve the token endpoint.
	callerPause = 5 * time.Millisecond
)

// expirySpec tells a caller process what to call (see TestHelperExpiryChild).
type expirySpec struct {
	Impl       string // "pixie" or "x-oauth2"
	TokenURL   string
	Store      string // for pixie: "sqlite" or "redis"
	SQLitePath string
	RedisAddr  string
	Prefix     string
	Goroutines int
}

const expiryChildEnv = "PIXIE_BENCH_EXPIRY_CHILD"

// tokenFunc returns the getter of spec's implementation and a function that
// releases what it opened.
func tokenFunc(ctx context.Context, spec expirySpec) (func() error, func(), error) {
	if spec.Impl == "x-oauth2" {
		xo := oauth2Source(ctx, spec.TokenURL, expiryEarly)
		return func() error { _, err := xo.Token(); return err }, func() {}, nil
	}
	opt := pixie.SourceOptions{Key: "bench", Skew: expiryEarly, RefreshAhead: 1}
	closeStore := func() {}
	switch spec.Store {
	case "sqlite":
		st, err := sqlitestore.Open(spec.SQLitePath) // keys from the environment
		if err != nil {
			return nil, nil, err
		}
		opt.Store, closeStore = st, func() { st.Close() }
	case "redis":
		c := redis.NewClient(&redis.Options{Addr: spec.RedisAddr})
		st, err := redisstore.New(c, redisstore.WithPrefix(spec.Prefix))
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		opt.Store, closeStore = st, func() { c.Close() }
	}
	src := pixieSource(spec.TokenURL, opt)
	return func() error { _, err := src.Token(ctx); return err }, closeStore, nil
}

// callFor calls token from n goroutines, each every callerPause, for d, and
// returns the calls made and the first error.
func callFor(n int, d time.Duration, token func() error) (int64, error) {
	var calls atomic.Int64
	var once sync.Once
	var first error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := token(); err != nil {
					once.Do(func() { first = err })
					return
				}
				calls.Add(1)
				time.Sleep(callerPause)
			}
		})
	}
	wg.Wait()
	return calls.Load(), first
}

// window is how long callers run for b.N expiries: each op is one expiry. The
// first token was fetched just before, so the renewals fall at 1, 2, ... b.N
// times renewEvery and the window ends halfway to the next one.
func window(b *testing.B) time.Duration {
	return time.Duration(b.N)*renewEvery + renewEvery/2
}

// reportExpiry reports the token requests per expiry and the callers' calls
// per second.
func reportExpiry(b *testing.B, requests, calls int64) {
	b.ReportMetric(float64(requests)/float64(b.N), "requests/expiry")
	b.ReportMetric(float64(calls)/window(b).Seconds(), "calls/s")
}

// BenchmarkRequestsPerExpiry counts the token requests one process makes per
// token expiry while 1, 100 or 10,000 goroutines call for the token: pixie's
// Source against x/oauth2's ReuseTokenSource. Each op is one expiry
// (renewEvery), so run it as -benchtime=10x for ten of them.
func BenchmarkRequestsPerExpiry(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		for _, impl := range []string{"pixie", "x-oauth2"} {
			b.Run(fmt.Sprintf("goroutines=%d/impl=%s", n, impl), func(b *testing.B) {
				ts := newTokenServer(b, expiryLifetime, expiryDelay)
				token, done, err := tokenFunc(b.Context(), expirySpec{Impl: impl, TokenURL: ts.URL})
				if err != nil {
					b.Fatal(err)
				}
				defer done()
				if err := token(); err != nil {
					b.Fatal(err)
				}
				before := ts.fetches.Load()
				b.ResetTimer()
				calls, err := callFor(n, window(b), token)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				reportExpiry(b, ts.fetches.Load()-before, calls)
			})
		}
	}
}

// BenchmarkRequestsPerExpiryProcesses counts the token requests per expiry of
// 8 processes sharing a SQLite store and of 4 sharing Redis, 10 goroutines
// each: pixie renews once for them all through the store's lock; x/oauth2 has
// no shared store, so each process renews on its own. Each op is one expiry;
// run it as -benchtime=10x. The Redis case needs redis-server on the PATH or
// PIXIE_TEST_REDIS_ADDR.
func BenchmarkRequestsPerExpiryProcesses(b *testing.B) {
	for _, c := range []struct {
		store string
		procs int
	}{{"sqlite", 8}, {"redis", 4}} {
		for _, impl := range []string{"pixie", "x-oauth2"} {
			b.Run(fmt.Sprintf("store=%s/procs=%d/impl=%s", c.store, c.procs, impl), func(b *testing.B) {
				ts := newTokenServer(b, expiryLifetime, expiryDelay)
				spec := expirySpec{Impl: impl, TokenURL: ts.URL, Store: c.store, Goroutines: 10}
				switch c.store {
				case "sqlite":
					spec.SQLitePath = filepath.Join(b.TempDir(), "tokens.db")
				case "redis":
					spec.RedisAddr, spec.Prefix = benchRedis(b), fmt.Sprintf("bench-%d:", time.Now().UnixNano())
				}
				js, err := json.Marshal(spec)
				if err != nil {
					b.Fatal(err)
				}
				env := []string{expiryChildEnv + "=" + string(js), seal.EnvVar + "=" + newStoreKey()}
				children := make([]*proctest.Child, c.procs)
				for i := range children {
					children[i] = proctest.Start(b, fmt.Sprintf("process %d", i+1), "TestHelperExpiryChild", env...)
				}
				for _, ch := range children {
					ch.Expect(b, "ready")
				}
				before := ts.fetches.Load()
				b.ResetTimer()
				run := "run " + strconv.FormatInt(int64(window(b)), 10)
				for _, ch := range children {
					ch.Send(b, run)
				}
				var calls int64
				for _, ch := range children {
					n, err := strconv.ParseInt(ch.Expect(b, "calls "), 10, 64)
					if err != nil {
						b.Fatal(err)
					}
					calls += n
				}
				b.StopTimer()
				reportExpiry(b, ts.fetches.Load()-before, calls)
				for _, ch := range children {
					ch.Finish(b)
				}
			})
		}
	}
}

// TestHelperExpiryChild is a caller process of
// BenchmarkRequestsPerExpiryProcesses; it skips unless started as one. It gets
// its first token, says "ready", and on "run NANOSECONDS" calls for the token
// from its goroutines for that long, then says "calls N" and exits.
func TestHelperExpiryChild(t *testing.T) {
	js := os.Getenv(expiryChildEnv)
	if js == "" {
		t.Skip("a caller process of BenchmarkRequestsPerExpiryProcesses")
	}
	var spec expirySpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		proctest.Die(err)
	}
	token, done, err := tokenFunc(context.Background(), spec)
	if err != nil {
		proctest.Die(err)
	}
	defer done()
	if err := token(); err != nil {
		proctest.Die(err)
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	if !sc.Scan() {
		proctest.Die(fmt.Errorf("no run line: %v", sc.Err()))
	}
	d, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "run "), 10, 64)
	if err != nil {
		proctest.Die(err)
	}
	calls, err := callFor(spec.Goroutines, time.Duration(d), token)
	if err != nil {
		proctest.Die(err)
	}
	fmt.Println("calls", calls)
}

// newStoreKey returns a new store key in the format of PIXIE_STORE_KEY.
func newStoreKey() string {
	k := make([]byte, 32)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// benchRedis returns the address of PIXIE_TEST_REDIS_ADDR or of a
// redis-server started for the benchmark, without persistence; it skips the
// benchmark when there is neither.
func benchRedis(b *testing.B) string {
	if addr := os.Getenv("PIXIE_TEST_REDIS_ADDR"); addr != "" {
		return addr
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		b.Skip("no redis-server on the PATH and no PIXIE_TEST_REDIS_ADDR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(b.Context()).Err() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("redis-server on %s did not answer within 10s", addr)
		}
	}
	return addr
}
