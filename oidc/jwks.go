package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/pixieauth/pixie/internal/wire"
)

const (
	defaultKeysTTL         = time.Hour
	defaultRefetchInterval = 10 * time.Second
	// requestTimeout bounds one fetch of a key set or of userinfo, whatever the
	// HTTP client's own timeout.
	requestTimeout = 30 * time.Second
)

// defaultClient is used when no HTTP client is configured.
var defaultClient = &http.Client{Timeout: requestTimeout}

// remoteKeys caches the JSON Web Key Set (RFC 7517 section 5) at an issuer's
// jwks_uri. Concurrent fetches are merged into one.
type remoteKeys struct {
	url             string
	client          *http.Client
	now             func() time.Time
	ttl             time.Duration
	refetchInterval time.Duration

	group singleflight.Group

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	fetchedAt   time.Time // of keys
	lastRefresh time.Time // of the last refresh that fetched, failed or not
	retryAt     time.Time // after a failed fetch of expired keys: when to try again
}

func newRemoteKeys(cfg VerifierConfig, now func() time.Time) *remoteKeys {
	r := &remoteKeys{
		url:             cfg.JWKSURL,
		client:          cfg.HTTPClient,
		now:             now,
		ttl:             cfg.KeysTTL,
		refetchInterval: cfg.RefetchInterval,
	}
	if r.client == nil {
		r.client = defaultClient
	}
	r.client = wire.GuardRedirects(r.client, cfg.AllowInsecureHTTP)
	if r.ttl <= 0 {
		r.ttl = defaultKeysTTL
	}
	if r.refetchInterval <= 0 {
		r.refetchInterval = defaultRefetchInterval
	}
	return r
}

// keysResult is what one shared fetch returns.
type keysResult struct {
	keys    []jose.JSONWebKey
	fetched bool
}

// maxStaleTTLs is how many TTLs after their fetch keys are still used while
// fetching them again fails. It bounds how long a key the issuer has withdrawn
// (a compromised one, say) stays trusted by a verifier kept from its jwks_uri.
const maxStaleTTLs = 2

// get returns the cached keys, fetching them when there are none or they are
// older than the TTL. When fetching keys older than the TTL fails, get returns
// them all the same, up to maxStaleTTLs after their fetch, and fetches no sooner
// than the refetch interval later: an issuer's keys seldom change, and a failing
// jwks_uri should neither make every token be refused nor be asked again for
// each one.
func (r *remoteKeys) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	res, err := r.do(ctx, "get", true, func(now time.Time) bool {
		return r.keys != nil && (now.Before(r.fetchedAt.Add(r.ttl)) || now.Before(r.retryAt))
	})
	return res.keys, err
}

// refresh fetches the keys again unless the last refresh did less than the
// refetch interval ago, and reports whether it fetched.
func (r *remoteKeys) refresh(ctx context.Context) ([]jose.JSONWebKey, bool, error) {
	res, err := r.do(ctx, "refresh", false, func(now time.Time) bool {
		if now.Sub(r.lastRefresh) < r.refetchInterval {
			return true
		}
		r.lastRefresh = now
		return false
	})
	return res.keys, res.fetched, err
}

// do returns the cached keys if useCache (called with r.mu held, and free to
// update r) says so, and fetches them otherwise; if the fetch fails and
// keepOnError is set, it returns the cached keys, if any, and sets r.retryAt.
// Callers with the same key share one call. The fetch is not ended by one
// caller's cancellation, as others may be waiting for it; requestTimeout bounds
// it.
func (r *remoteKeys) do(ctx context.Context, key string, keepOnError bool, useCache func(now time.Time) bool) (keysResult, error) {
	ch := r.group.DoChan(key, func() (any, error) {
		r.mu.Lock()
		now := r.now()
		if useCache(now) {
			keys := r.keys
			r.mu.Unlock()
			return keysResult{keys: keys}, nil
		}
		r.mu.Unlock()

		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
		defer cancel()
		keys, err := r.fetch(fctx)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			if !keepOnError || r.keys == nil || !now.Before(r.fetchedAt.Add(maxStaleTTLs*r.ttl)) {
				return keysResult{}, err
			}
			r.retryAt = now.Add(r.refetchInterval)
			return keysResult{keys: r.keys}, nil
		}
		r.keys, r.fetchedAt = keys, now
		return keysResult{keys: keys, fetched: true}, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return keysResult{}, res.Err
		}
		return res.Val.(keysResult), nil
	case <-ctx.Done():
		return keysResult{}, fmt.Errorf("oidc: fetching the key set at %s: %w", r.url, ctx.Err())
	}
}

// fetch GETs and decodes the key set, keeping its public signing keys.
func (r *remoteKeys) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: key set %s: %w", r.url, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidc: fetching the key set: %w", err)
	}
	defer resp.Body.Close()
	body, err := wire.ReadBody(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("oidc: key set %s (HTTP %d): %w", r.url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidc: key set %s: unexpected HTTP %d %s", r.url, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	keys, err := decodeKeySet(body)
	if err != nil {
		return nil, fmt.Errorf("oidc: key set %s: %w", r.url, err)
	}
	return keys, nil
}

// decodeKeySet decodes a JWK Set and returns its public signing keys. Keys pixie
// cannot use (encryption keys, symmetric keys, unknown key types) are skipped,
// as RFC 7517 section 5 allows; private key members are dropped.
func decodeKeySet(b []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set (RFC 7517 section 5): %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`not a JWK Set (RFC 7517 section 5): no "keys" member`)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || k.Use == "enc" {
			continue
		}
		if pub := k.Public(); pub.Key != nil {
			keys = append(keys, pub)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("none of its %d keys is a public signing key", len(set.Keys))
	}
	return keys, nil
}
