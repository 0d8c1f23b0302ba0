package devserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/pixieauth/pixie"
)

// Faults are failures the server injects on purpose, so clients can be tested
// against slow, failing and rate-limiting servers. The zero value injects nothing.
// Set them with [Options.Faults], [Server.SetFaults], or PUT /admin/faults with
// the JSON form (durations as Go duration strings such as "1.5s"):
//
//	{"latency":"200ms","failure_rate":0.5,"failure_status":503,"rate_limit":2,
//	 "retry_after":"3s","access_token_ttl":"30s","clock_offset":"-1h",
//	 "fail_refresh":1,"drop_after_refresh":1,"endpoints":["token"]}
type Faults struct {
	// Latency delays every response of the selected endpoints.
	Latency time.Duration
	// FailureRate is the probability, from 0 to 1, that a request to a selected
	// endpoint fails with FailureStatus before it is processed.
	FailureRate float64
	// FailureStatus is 500 (server_error) or 503 (temporarily_unavailable); 0
	// means 503.
	FailureStatus int
	// RateLimit answers the next RateLimit requests to the selected endpoints with
	// 429 and Retry-After, counting down.
	RateLimit int
	// RetryAfter is the Retry-After of rate-limited and 503 answers, rounded up to
	// whole seconds; 0 means one second.
	RetryAfter time.Duration
	// AccessTokenTTL, when positive, overrides the lifetime of access tokens
	// issued from now on.
	AccessTokenTTL time.Duration
	// ClockOffset is added to the server's clock, so a test can move it forwards
	// (expire tokens and codes) or backwards.
	ClockOffset time.Duration
	// FailRefresh answers the next FailRefresh refresh_token grants with
	// invalid_grant, counting down.
	FailRefresh int
	// DropAfterRefresh makes the next DropAfterRefresh refresh_token grants commit
	// (the old refresh token is rotated out, the new one stored) and then close the
	// connection without a response, counting down: the client never sees the new
	// token.
	DropAfterRefresh int
	// Endpoints are the endpoint names (see [Match]) that Latency, FailureRate and
	// RateLimit apply to; empty means "token".
	Endpoints []string
}

// faultsJSON is the JSON form of Faults.
type faultsJSON struct {
	Latency          string   `json:"latency,omitempty" yaml:"latency"`
	FailureRate      float64  `json:"failure_rate,omitempty" yaml:"failure_rate"`
	FailureStatus    int      `json:"failure_status,omitempty" yaml:"failure_status"`
	RateLimit        int      `json:"rate_limit,omitempty" yaml:"rate_limit"`
	RetryAfter       string   `json:"retry_after,omitempty" yaml:"retry_after"`
	AccessTokenTTL   string   `json:"access_token_ttl,omitempty" yaml:"access_token_ttl"`
	ClockOffset      string   `json:"clock_offset,omitempty" yaml:"clock_offset"`
	FailRefresh      int      `json:"fail_refresh,omitempty" yaml:"fail_refresh"`
	DropAfterRefresh int      `json:"drop_after_refresh,omitempty" yaml:"drop_after_refresh"`
	Endpoints        []string `json:"endpoints,omitempty" yaml:"endpoints"`
}

// MarshalJSON encodes the faults with durations as strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	d := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	return json.Marshal(faultsJSON{d(f.Latency), f.FailureRate, f.FailureStatus, f.RateLimit,
		d(f.RetryAfter), d(f.AccessTokenTTL), d(f.ClockOffset), f.FailRefresh, f.DropAfterRefresh, f.Endpoints})
}

// UnmarshalJSON decodes the JSON form, refusing unknown fields.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	var err error
	*f, err = j.faults()
	return err
}

// faults converts the JSON (or YAML) form, parsing the durations.
func (j faultsJSON) faults() (Faults, error) {
	var errs []error
	d := func(name, v string) time.Duration {
		if v == "" {
			return 0
		}
		x, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		return x
	}
	f := Faults{d("latency", j.Latency), j.FailureRate, j.FailureStatus, j.RateLimit,
		d("retry_after", j.RetryAfter), d("access_token_ttl", j.AccessTokenTTL), d("clock_offset", j.ClockOffset),
		j.FailRefresh, j.DropAfterRefresh, j.Endpoints}
	return f, errors.Join(errs...)
}

func (f *Faults) validate() error {
	switch {
	case f.Latency < 0, f.RetryAfter < 0, f.AccessTokenTTL < 0:
		return errors.New("devserver: fault durations other than the clock offset must not be negative")
	case f.FailureRate < 0 || f.FailureRate > 1:
		return fmt.Errorf("devserver: failure rate %v is not between 0 and 1", f.FailureRate)
	case f.FailureStatus != 0 && f.FailureStatus != 500 && f.FailureStatus != 503:
		return fmt.Errorf("devserver: failure status %d is not 500 or 503", f.FailureStatus)
	case f.RateLimit < 0, f.FailRefresh < 0, f.DropAfterRefresh < 0:
		return errors.New("devserver: fault counts must not be negative")
	}
	for _, e := range f.Endpoints {
		if !isEndpointName(e) {
			return fmt.Errorf("devserver: faults: unknown endpoint %q", e)
		}
	}
	return nil
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.Endpoints = slices.Clone(f.Endpoints)
	s.faultsMu.Lock()
	s.faults = f
	s.faultsMu.Unlock()
	return nil
}

// Faults returns the faults currently injected, with counters as they stand.
func (s *Server) Faults() Faults {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	f := s.faults
	f.Endpoints = slices.Clone(f.Endpoints)
	return f
}

// takeFault decrements the counter chosen by pick and reports whether it was
// positive.
func (s *Server) takeFault(pick func(*Faults) *int) bool {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	if n := pick(&s.faults); *n > 0 {
		*n--
		return true
	}
	return false
}

// injectFaults applies latency, failures and rate limiting to a request to
// endpoint, and reports whether it answered the request.
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	f := s.Faults()
	eps := f.Endpoints
	if len(eps) == 0 {
		eps = []string{"token"}
	}
	if !slices.Contains(eps, endpoint) {
		return false
	}
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
		}
	}
	retry := max(f.RetryAfter, time.Second).Round(time.Second)
	if s.takeFault(func(f *Faults) *int { return &f.RateLimit }) {
		e := &pixie.Error{Code: "rate_limited", Description: "too many requests (injected fault)",
			StatusCode: http.StatusTooManyRequests, RetryAfter: retry}
		writeError(w, r, e)
		return true
	}
	if f.FailureRate > 0 && rand.Float64() < f.FailureRate {
		if f.FailureStatus == http.StatusInternalServerError {
			writeError(w, r, oauthError(pixie.ErrServerError, "injected failure"))
		} else {
			e := oauthError(pixie.ErrTemporarilyUnavailable, "injected failure")
			e.RetryAfter = retry
			writeError(w, r, e)
		}
		return true
	}
	return false
}

// handleAdmin serves the admin API: GET and PUT /admin/faults, POST
// /admin/rotate-keys; with [Options.AdminToken], to requests that carry it.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	if !requireToken(w, r, s.opts.AdminToken, "admin token") {
		return
	}
	switch r.URL.Path {
	case "/admin/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.Faults())
		case http.MethodPut:
			var f Faults
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
			if err := dec.Decode(&f); err != nil {
				writeError(w, r, oauthError(pixie.ErrInvalidRequest, "faults: %v", err))
				return
			}
			if err := s.SetFaults(f); err != nil {
				writeError(w, r, oauthError(pixie.ErrInvalidRequest, "%v", err))
				return
			}
			writeJSON(w, http.StatusOK, s.Faults())
		default:
			methodNotAllowed(w, "GET, PUT")
		}
	case "/admin/rotate-keys":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		if err := s.RotateKeys(); err != nil {
			writeError(w, r, oauthError(pixie.ErrServerError, "key rotation failed"))
			return
		}
		writeJSON(w, http.StatusOK, s.KeySet())
	default:
		http.NotFound(w, r)
	}
}
