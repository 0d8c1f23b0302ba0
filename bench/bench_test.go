package bench_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/pixieauth/pixie"
)

// tokenServer is a loopback token endpoint that issues a new bearer token on
// every request, after an optional delay, and counts the requests.
type tokenServer struct {
	*httptest.Server
	fetches atomic.Int64
}

// newTokenServer starts a token endpoint whose tokens carry expires_in, and
// which answers each request after delay (the slowness of a distant server).
func newTokenServer(tb testing.TB, expiresIn int, delay time.Duration) *tokenServer {
	tb.Helper()
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.fetches.Add(1)
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `{"access_token":"bench-at-%d","token_type":"Bearer","expires_in":%d}`, n, expiresIn)
	}))
	tb.Cleanup(ts.Close)
	return ts
}

// apiBody is the small response of the API server.
var apiBody = []byte(`{"id":42,"name":"pixie"}`)

// newAPIServer starts a loopback API server answering apiBody, and its URL.
// When requireToken is set, a request without one of tokenServer's bearer
// tokens is answered 401, so a benchmark cannot pass without sending the token.
func newAPIServer(tb testing.TB, requireToken bool) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requireToken && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer bench-at-") {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(apiBody)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// pixieSource returns a pixie client credentials Source for the token endpoint
// at tokenURL.
func pixieSource(tokenURL string, opt pixie.SourceOptions) *pixie.Source {
	cfg := &pixie.Config{
		ClientID:     "bench",
		ClientSecret: pixie.NewSecret("bench-secret"),
		Endpoint:     pixie.Endpoint{TokenURL: tokenURL},
	}
	return cfg.ClientCredentialsSource(opt)
}

// oauth2Source returns x/oauth2's client credentials TokenSource for the token
// endpoint at tokenURL: the ReuseTokenSource that clientcredentials builds, with
// its early expiry set to early when early is positive (x/oauth2's default is
// 10 seconds).
func oauth2Source(ctx context.Context, tokenURL string, early time.Duration) oauth2.TokenSource {
	cc := &clientcredentials.Config{
		ClientID:     "bench",
		ClientSecret: "bench-secret",
		TokenURL:     tokenURL,
	}
	ts := cc.TokenSource(ctx)
	if early > 0 {
		ts = oauth2.ReuseTokenSourceWithExpiry(nil, ts, early)
	}
	return ts
}

// getter is one implementation's way of obtaining the current token.
type getter struct {
	name  string
	token func() error
}

// cachedGetters returns, for each implementation, a getter whose token is
// already held and far from expiry, so that each call serves the cached token.
func cachedGetters(b *testing.B) []getter {
	b.Helper()
	ctx := context.Background()
	ts := newTokenServer(b, 3600, 0)
	src := pixieSource(ts.URL, pixie.SourceOptions{})
	adapted := pixie.OAuth2(pixieSource(ts.URL, pixie.SourceOptions{}))
	xo := oauth2Source(ctx, ts.URL, 0)
	gs := []getter{
		{"pixie", func() error { _, err := src.Token(ctx); return err }},
		{"x-oauth2", func() error { _, err := xo.Token(); return err }},
		// pixie's Source seen through its x/oauth2 adapter, as an SDK that
		// takes an oauth2.TokenSource calls it.
		{"pixie-as-oauth2", func() error { _, err := adapted.Token(); return err }},
	}
	for _, g := range gs {
		if err := g.token(); err != nil {
			b.Fatalf("%s: first token: %v", g.name, err)
		}
	}
	return gs
}

// BenchmarkCachedToken measures serving a held, valid token from one goroutine.
func BenchmarkCachedToken(b *testing.B) {
	for _, g := range cachedGetters(b) {
		b.Run("impl="+g.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := g.token(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCachedTokenParallel measures serving a held, valid token from
// GOMAXPROCS goroutines at once: pixie reads an atomic pointer, x/oauth2 takes
// a mutex.
func BenchmarkCachedTokenParallel(b *testing.B) {
	for _, g := range cachedGetters(b) {
		b.Run("impl="+g.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := g.token(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// get sends one GET to url with client and reads the whole response.
func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// client is one implementation's authorized HTTP client.
type client struct {
	name string
	*http.Client
}

// transportClients returns an HTTP client for each implementation, all over
// http.DefaultTransport: none sends no token, pixie and x-oauth2 send one held
// far from its expiry. Each has made one request, so connections are open.
func transportClients(b *testing.B, apiURL string) []client {
	b.Helper()
	ctx := context.Background()
	ts := newTokenServer(b, 3600, 0)
	cs := []client{
		{"none", &http.Client{}},
		{"pixie", pixie.NewClient(pixieSource(ts.URL, pixie.SourceOptions{}))},
		{"x-oauth2", oauth2.NewClient(ctx, oauth2Source(ctx, ts.URL, 0))},
	}
	for _, c := range cs {
		if err := get(ctx, c.Client, apiURL); err != nil {
			b.Fatalf("%s: first request: %v", c.name, err)
		}
	}
	return cs
}

// BenchmarkTransport measures one API request over loopback from one
// goroutine: the difference from impl=none is the cost of authorizing it. The
// allocations include the server's, which are the same for every impl.
func BenchmarkTransport(b *testing.B) {
	ctx := context.Background()
	open := newAPIServer(b, false)
	for _, c := range transportClients(b, open) {
		b.Run("impl="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := get(ctx, c.Client, open); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTransportParallel is BenchmarkTransport from GOMAXPROCS goroutines.
func BenchmarkTransportParallel(b *testing.B) {
	ctx := context.Background()
	open := newAPIServer(b, false)
	for _, c := range transportClients(b, open) {
		b.Run("impl="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(ctx, c.Client, open); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// stubBase is a RoundTripper that answers at once, without a network, with a
// shared empty response: 200, or 500 when wantToken is set and the request
// lacks one of tokenServer's bearer tokens.
func stubBase(wantToken bool) http.RoundTripper {
	ok := &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}
	bad := &http.Response{StatusCode: http.StatusInternalServerError, Body: http.NoBody}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if wantToken && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer bench-at-") {
			return bad, nil
		}
		return ok, nil
	})
}

// roundTripper is one implementation's authorizing RoundTripper.
type roundTripper struct {
	name string
	http.RoundTripper
}

// stubRoundTrippers returns, for each implementation, its Transport over
// stubBase, with a token held far from its expiry; none is stubBase alone.
func stubRoundTrippers(b *testing.B) []roundTripper {
	b.Helper()
	ctx := context.Background()
	ts := newTokenServer(b, 3600, 0)
	rts := []roundTripper{
		{"none", stubBase(false)},
		{"pixie", &pixie.Transport{Source: pixieSource(ts.URL, pixie.SourceOptions{}), Base: stubBase(true)}},
		{"x-oauth2", &oauth2.Transport{Source: oauth2Source(ctx, ts.URL, 0), Base: stubBase(true)}},
	}
	req := stubRequest(b)
	for _, rt := range rts {
		if err := roundTrip(rt.RoundTripper, req); err != nil {
			b.Fatalf("%s: first request: %v", rt.name, err)
		}
	}
	return rts
}

// stubRequest returns a GET request for a stubBase.
func stubRequest(b *testing.B) *http.Request {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://api.example/v1/items", nil)
	if err != nil {
		b.Fatal(err)
	}
	return req
}

// roundTrip sends req through rt and checks that it succeeded.
func roundTrip(rt http.RoundTripper, req *http.Request) error {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("round trip: status %d", resp.StatusCode)
	}
	return nil
}

// BenchmarkRoundTrip measures a Transport's own work per request (getting the
// token, cloning the request, setting Authorization) over a base RoundTripper
// that does no I/O: the difference from impl=none is the overhead, free of the
// network noise that BenchmarkTransport carries.
func BenchmarkRoundTrip(b *testing.B) {
	for _, rt := range stubRoundTrippers(b) {
		b.Run("impl="+rt.name, func(b *testing.B) {
			req := stubRequest(b)
			b.ReportAllocs()
			for b.Loop() {
				if err := roundTrip(rt.RoundTripper, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRoundTripParallel is BenchmarkRoundTrip from GOMAXPROCS goroutines.
func BenchmarkRoundTripParallel(b *testing.B) {
	for _, rt := range stubRoundTrippers(b) {
		b.Run("impl="+rt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := stubRequest(b)
				for pb.Next() {
					if err := roundTrip(rt.RoundTripper, req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// The expiry-crossing scenario: tokens live expiresIn seconds; both
// implementations stop using a token early before its expiry; the token
// endpoint takes endpointDelay to answer; workers each send a request every
// interval for runFor (320 requests a second in all), so that tokens expire
// twice during a run.
const (
	expiresIn     = 2
	early         = 500 * time.Millisecond
	endpointDelay = 200 * time.Millisecond
	runFor        = 4500 * time.Millisecond
	workers       = 16
	interval      = 50 * time.Millisecond
	// slowCall is the latency from which a call counts as having waited for
	// a token request.
	slowCall = endpointDelay / 2
)

// BenchmarkExpiryCrossing measures API request latency over runs in which the
// token expires while requests keep arriving at a steady rate, with a token
// endpoint that takes 200 ms. pixie starts a background refresh halfway through
// a token's life (RefreshAhead 0.5) and keeps serving the current token; x/oauth2
// renews only once the token is no longer valid, holding every caller meanwhile.
// impl=pixie-default-ahead shows pixie with its default RefreshAhead on these
// short-lived tokens.
//
// One op is one API request. ns/op is the mean latency of a request, from the
// call to Client.Do to the end of its body; B/op and allocs/op are per request,
// server included. Custom metrics: p50-ns, p99-ns and max-ns of that latency;
// slowcalls/run, the requests that took at least 100 ms; fetches/run, the token
// requests. A worker whose request is held does not send the next ones until
// it returns, so with x/oauth2 about one request per worker waits at each
// expiry.
func BenchmarkExpiryCrossing(b *testing.B) {
	impls := []struct {
		name      string
		newClient func(ctx context.Context, tokenURL string) *http.Client
	}{
		{"pixie", func(_ context.Context, tokenURL string) *http.Client {
			return pixie.NewClient(pixieSource(tokenURL, pixie.SourceOptions{Skew: early, RefreshAhead: 0.5}))
		}},
		{"x-oauth2", func(ctx context.Context, tokenURL string) *http.Client {
			return oauth2.NewClient(ctx, oauth2Source(ctx, tokenURL, early))
		}},
		// pixie with the default RefreshAhead (0.8): for a token living at
		// most five times Skew, 80 % of its life is at or past expiry minus
		// Skew, so the refresh point is capped at the end of validity and no
		// background refresh happens before callers must wait.
		{"pixie-default-ahead", func(_ context.Context, tokenURL string) *http.Client {
			return pixie.NewClient(pixieSource(tokenURL, pixie.SourceOptions{Skew: early}))
		}},
	}
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.N)*runFor+time.Minute)
			defer cancel()
			ts := newTokenServer(b, expiresIn, endpointDelay)
			api := newAPIServer(b, true)
			c := im.newClient(ctx, ts.URL)
			if err := get(ctx, c, api); err != nil {
				b.Fatalf("first request: %v", err)
			}
			fetched := ts.fetches.Load()
			b.ReportAllocs()
			perWorker := int(runFor/interval) + 1
			lat := make([][]time.Duration, workers)
			for w := range lat {
				lat[w] = make([]time.Duration, 0, b.N*perWorker)
			}
			errs := make([]error, workers)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				var wg sync.WaitGroup
				for w := range workers {
					offset := interval * time.Duration(w) / workers
					wg.Go(func() {
						lat[w], errs[w] = pacedCalls(ctx, c, api, start.Add(offset), lat[w])
					})
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)

			all := slices.Concat(lat...)
			reportLatency(b, all)
			calls := float64(len(all))
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/calls, "allocs/op")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/calls, "B/op")
			b.ReportMetric(float64(ts.fetches.Load()-fetched)/float64(b.N), "fetches/run")
		})
	}
}

// pacedCalls sends a GET to url every interval from start until runFor has
// passed, appending each request's latency to lat. A request that falls behind
// its schedule is sent at once.
func pacedCalls(ctx context.Context, c *http.Client, url string, start time.Time, lat []time.Duration) ([]time.Duration, error) {
	end := start.Add(runFor)
	for due := start; due.Before(end); due = due.Add(interval) {
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		sent := time.Now()
		if err := get(ctx, c, url); err != nil {
			return lat, err
		}
		lat = append(lat, time.Since(sent))
	}
	return lat, nil
}

// reportLatency reports the mean latency as ns/op, the 50th and 99th
// percentiles and the maximum (in ns, which benchstat scales), and the slow
// calls per run.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		b.Fatal("no requests were made")
	}
	slices.Sort(lat)
	var sum time.Duration
	slow := 0
	for _, d := range lat {
		sum += d
		if d >= slowCall {
			slow++
		}
	}
	pct := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(lat)))) - 1
		return float64(lat[max(i, 0)])
	}
	b.ReportMetric(float64(sum)/float64(len(lat)), "ns/op")
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(pct(1), "max-ns")
	b.ReportMetric(float64(slow)/float64(b.N), "slowcalls/run")
}
