package bench_test

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
// every renewEvery; pixie's refresh-ahead is off, except in
// impl=pixie-default-ahead, so that neither renews sooner.
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
	Impl       string // "pixie", "pixie-default-ahead" or "x-oauth2"
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
	if spec.Impl == "pixie-default-ahead" {
		opt.RefreshAhead = 0
	}
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

// callStats is what the callers of callFor did: their calls, and the longest
// a call took (the longest a caller waited for a renewal).
type callStats struct {
	Calls   int64
	Longest time.Duration
}

// add adds o's calls to st and keeps the longer wait.
func (st *callStats) add(o callStats) {
	st.Calls += o.Calls
	st.Longest = max(st.Longest, o.Longest)
}

// callFor calls token from n goroutines, each every callerPause, for d, and
// returns what they did, or the first error.
func callFor(n int, d time.Duration, token func() error) (callStats, error) {
	var mu sync.Mutex
	var all callStats
	var first error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var mine callStats
			defer func() {
				mu.Lock()
				all.add(mine)
				mu.Unlock()
			}()
			for time.Now().Before(deadline) {
				start := time.Now()
				if err := token(); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
				mine.add(callStats{Calls: 1, Longest: time.Since(start)})
				time.Sleep(callerPause)
			}
		})
	}
	wg.Wait()
	return all, first
}

// window is how long callers run for b.N expiries: each op is one expiry. The
// first token was fetched just before, so the renewals fall at about 1, 2, ...
// b.N times renewEvery and the window ends about halfway to the next one.
func window(b *testing.B) time.Duration {
	return time.Duration(b.N)*renewEvery + renewEvery/2
}

// expiryServer is a token endpoint (tokenServer's handler) that records when
// each request arrived, to group them by the expiry that caused them.
type expiryServer struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newExpiryServer(b *testing.B) *expiryServer {
	ts := newTokenServer(b, expiryLifetime, expiryDelay)
	es := &expiryServer{}
	es.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es.mu.Lock()
		es.times = append(es.times, time.Now())
		es.mu.Unlock()
		ts.Config.Handler.ServeHTTP(w, r)
	}))
	b.Cleanup(es.Close)
	return es
}

// mark returns the number of requests so far.
func (es *expiryServer) mark() int {
	es.mu.Lock()
	defer es.mu.Unlock()
	return len(es.times)
}

// report reports the token requests per expiry since mark, and the callers'
// calls per second and longest wait. Requests are grouped by expiry: one that arrives within
// half a renewal interval of the one before was caused by the same expiry (a
// storm, or processes renewing on their own); the expiries are the groups, so
// the figure does not depend on how the window fell.
func (es *expiryServer) report(b *testing.B, mark int, st callStats) {
	es.mu.Lock()
	times := es.times[mark:]
	es.mu.Unlock()
	expiries := 0
	for i, t := range times {
		if i == 0 || t.Sub(times[i-1]) > renewEvery/2 {
			expiries++
		}
	}
	if expiries == 0 {
		b.Fatalf("no token request in %v; want one every %v", window(b), renewEvery)
	}
	b.ReportMetric(float64(len(times))/float64(expiries), "requests/expiry")
	b.ReportMetric(float64(st.Calls)/window(b).Seconds(), "calls/s")
	b.ReportMetric(float64(st.Longest)/float64(time.Millisecond), "max-wait-ms")
}

// BenchmarkRequestsPerExpiry counts the token requests one process makes per
// token expiry while 1, 100 or 10,000 goroutines call for the token: pixie's
// Source against x/oauth2's ReuseTokenSource. Each op is one expiry
// (renewEvery), so run it as -benchtime=10x for ten of them.
func BenchmarkRequestsPerExpiry(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		for _, impl := range []string{"pixie", "x-oauth2"} {
			b.Run(fmt.Sprintf("goroutines=%d/impl=%s", n, impl), func(b *testing.B) {
				es := newExpiryServer(b)
				token, done, err := tokenFunc(b.Context(), expirySpec{Impl: impl, TokenURL: es.URL})
				if err != nil {
					b.Fatal(err)
				}
				defer done()
				if err := token(); err != nil {
					b.Fatal(err)
				}
				mark := es.mark()
				b.ResetTimer()
				st, err := callFor(n, window(b), token)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				es.report(b, mark, st)
			})
		}
	}
}

// BenchmarkRequestsPerExpiryProcesses counts the token requests per expiry of
// 8 processes sharing a SQLite store and of 4 sharing Redis, 10 goroutines
// each: pixie renews once for them all through the store's lock; x/oauth2 has
// no shared store, so each process renews on its own. Each op is one expiry;
// run it as -benchtime=10x. impl=pixie-default-ahead is pixie with its default
// RefreshAhead, which renews in the background before callers must wait. The Redis case needs redis-server on the PATH or
// PIXIE_TEST_REDIS_ADDR.
func BenchmarkRequestsPerExpiryProcesses(b *testing.B) {
	for _, c := range []struct {
		store string
		procs int
	}{{"sqlite", 8}, {"redis", 4}} {
		for _, impl := range []string{"pixie", "x-oauth2", "pixie-default-ahead"} {
			b.Run(fmt.Sprintf("store=%s/procs=%d/impl=%s", c.store, c.procs, impl), func(b *testing.B) {
				es := newExpiryServer(b)
				spec := expirySpec{Impl: impl, TokenURL: es.URL, Store: c.store, Goroutines: 10}
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
				mark := es.mark()
				b.ResetTimer()
				run := "run " + strconv.FormatInt(int64(window(b)), 10)
				for _, ch := range children {
					ch.Send(b, run)
				}
				var all callStats
				for _, ch := range children {
					var st callStats
					if err := json.Unmarshal([]byte(ch.Expect(b, "calls ")), &st); err != nil {
						b.Fatal(err)
					}
					all.add(st)
				}
				b.StopTimer()
				es.report(b, mark, all)
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
// from its goroutines for that long, then says "calls" and its callStats in
// JSON, and exits.
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
	st, err := callFor(spec.Goroutines, time.Duration(d), token)
	if err != nil {
		proctest.Die(err)
	}
	out, err := json.Marshal(st)
	if err != nil {
		proctest.Die(err)
	}
	fmt.Println("calls", string(out))
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
