package devserver_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// BenchmarkClientCredentials measures client-credentials token issuance, JWT
// and opaque, through the handler (no network), and reports tokens per second
// and the 99th percentile of the time one request takes (p99-ns).
func BenchmarkClientCredentials(b *testing.B) {
	for _, format := range []devserver.TokenFormat{devserver.FormatJWT, devserver.FormatOpaque} {
		b.Run(string(format), func(b *testing.B) {
			srv := devservertest.NewServer(b, func(o *devserver.Options) { o.AccessTokenFormat = format })
			body := formOf("grant_type", "client_credentials", "scope", "read").Encode()
			var mu sync.Mutex
			var took []time.Duration
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("confidential", "confidential-secret")
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				took = append(took, mine...)
				mu.Unlock()
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(p99(took)), "p99-ns")
		})
	}
}

// p99 returns the 99th percentile of ds (nearest rank), 0 for none.
func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)*99+99)/100-1]
}

// BenchmarkDPoPClientCredentials measures client-credentials issuance of
// DPoP-bound opaque tokens, each request with a fresh proof, so the server's
// replay cache of proof IDs grows with b.N.
func BenchmarkDPoPClientCredentials(b *testing.B) {
	srv := devservertest.NewServer(b, func(o *devserver.Options) { o.AccessTokenFormat = devserver.FormatOpaque })
	key := newDPoPKey(b)
	body := formOf("grant_type", "client_credentials").Encode()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("DPoP", key.proof(b, http.MethodPost, srv.URL+"/token", nil))
			req.SetBasicAuth("confidential", "confidential-secret")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
