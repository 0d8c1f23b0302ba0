package pixie_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/fakeclock"
)

const testDeviceCode = "DC-secret-device-code"

// deviceBody is a device authorization response (RFC 8628 section 3.2).
const deviceBody = `{"device_code":"` + testDeviceCode + `","user_code":"WDJB-MJHT",` +
	`"verification_uri":"https://auth.example.com/device",` +
	`"verification_uri_complete":"https://auth.example.com/device?user_code=WDJB-MJHT",` +
	`"expires_in":1800,"interval":7}`

// recordSleeps replaces the wait between device polls with one that records
// the duration and advances clock (when not nil) instead of waiting.
func recordSleeps(tb testing.TB, clock *fakeclock.Clock) func() []time.Duration {
	tb.Helper()
	var mu sync.Mutex
	var waits []time.Duration
	tb.Cleanup(pixie.SetSleep(func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		if clock != nil {
			clock.Advance(d)
		}
		return nil
	}))
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(waits)
	}
}

func TestDeviceAuth(t *testing.T) {
	srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { replyJSON(w, 200, deviceBody) })
	clock := newStepClock()
	c := testConfig(srv)
	c.ClientSecret = pixie.Secret{} // a public client, as devices usually are
	c.Now = clock.Now
	da, err := c.DeviceAuth(context.Background(), pixie.Scopes("openid", "offline_access"))
	if err != nil {
		t.Fatal(err)
	}
	req := srv.only(t, "/device")
	checkForm(t, req.Form, map[string]string{"client_id": testClientID, "scope": "openid offline_access"})
	checkAbsent(t, req.Form, "grant_type", "client_secret")
	if got := req.Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q, want none for a public client", got)
	}
	want := pixie.DeviceAuth{
		UserCode:                "WDJB-MJHT",
		VerificationURI:         "https://auth.example.com/device",
		VerificationURIComplete: "https://auth.example.com/device?user_code=WDJB-MJHT",
		Expires:                 clock.Now().Add(30 * time.Minute),
		Interval:                7 * time.Second,
	}
	if got := da.DeviceCode.Reveal(); got != testDeviceCode {
		t.Errorf("DeviceCode = %q, want %q", got, testDeviceCode)
	}
	if da.UserCode != want.UserCode || da.VerificationURI != want.VerificationURI ||
		da.VerificationURIComplete != want.VerificationURIComplete || !da.Expires.Equal(want.Expires) || da.Interval != want.Interval {
		t.Errorf("DeviceAuth = %+v, want %+v", *da, want)
	}
	if got, want := da.Scopes, []string{"openid", "offline_access"}; !slices.Equal(got, want) {
		t.Errorf("Scopes = %q, want %q", got, want)
	}
}

func TestDeviceAuthResponses(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, da *pixie.DeviceAuth)
	}{
		{
			name: "verification_url and string numbers",
			body: `{"device_code":"d","user_code":"u","verification_url":"https://www.google.com/device","expires_in":"1800"}`,
			check: func(t *testing.T, da *pixie.DeviceAuth) {
				if got, want := da.VerificationURI, "https://www.google.com/device"; got != want {
					t.Errorf("VerificationURI = %q, want %q", got, want)
				}
				if da.VerificationURIComplete != "" {
					t.Errorf("VerificationURIComplete = %q, want empty", da.VerificationURIComplete)
				}
				if got, want := da.Interval, 5*time.Second; got != want {
					t.Errorf("Interval = %v, want the default %v", got, want)
				}
			},
		},
		{
			name: "interval as a string",
			body: `{"device_code":"d","user_code":"u","verification_uri":"https://a.example/d","expires_in":600,"interval":"10"}`,
			check: func(t *testing.T, da *pixie.DeviceAuth) {
				if got, want := da.Interval, 10*time.Second; got != want {
					t.Errorf("Interval = %v, want %v", got, want)
				}
			},
		},
		{name: "no device_code", body: `{"user_code":"u","verification_uri":"https://a.example/d","expires_in":600}`, wantErr: "device_code"},
		{name: "no user_code", body: `{"device_code":"` + testDeviceCode + `","verification_uri":"https://a.example/d","expires_in":600}`, wantErr: "user_code"},
		{name: "no verification_uri", body: `{"device_code":"` + testDeviceCode + `","user_code":"u","expires_in":600}`, wantErr: "verification_uri"},
		{name: "no expires_in", body: `{"device_code":"` + testDeviceCode + `","user_code":"u","verification_uri":"https://a.example/d"}`, wantErr: "expires_in"},
		{name: "negative expires_in", body: `{"device_code":"` + testDeviceCode + `","user_code":"u","verification_uri":"https://a.example/d","expires_in":-5}`, wantErr: "expires_in"},
		{name: "user_code not a string", body: `{"device_code":"` + testDeviceCode + `","user_code":7,"verification_uri":"https://a.example/d","expires_in":600}`, wantErr: "user_code"},
		{name: "interval not a number", body: `{"device_code":"` + testDeviceCode + `","user_code":"u","verification_uri":"https://a.example/d","expires_in":600,"interval":true}`, wantErr: "interval"},
		{name: "not JSON", body: `device_code=` + testDeviceCode, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { replyJSON(w, 200, tt.body) })
			da, err := testConfig(srv).DeviceAuth(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, da)
				return
			}
			e := asError(t, err)
			if got, want := e.Op, "device authorization"; got != want {
				t.Errorf("Op = %q, want %q", got, want)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not name %q", err, tt.wantErr)
			}
			checkNoSecrets(t, err, testDeviceCode)
		})
	}
	t.Run("error response", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, http.StatusUnauthorized, `{"error":"invalid_client"}`)
		})
		_, err := testConfig(srv).DeviceAuth(context.Background())
		if !errors.Is(err, pixie.ErrInvalidClient) {
			t.Errorf("err = %v, want invalid_client", err)
		}
		checkNoSecrets(t, err)
	})
	t.Run("no endpoint", func(t *testing.T) {
		c := testConfig(newAuthServer(t, replyToken))
		c.Endpoint.DeviceAuthURL = ""
		if _, err := c.DeviceAuth(context.Background()); err == nil || !strings.Contains(err.Error(), "endpoint") {
			t.Errorf("err = %v, want one about the missing endpoint", err)
		}
	})
}

// TestDeviceAuthVerificationURI checks that DeviceAuth accepts only absolute
// https verification URIs (http on loopback, or with AllowInsecureHTTP): the
// CLI hands them to a browser command, which must never get an option or a
// local file.
func TestDeviceAuthVerificationURI(t *testing.T) {
	const good = "https://auth.example.com/device"
	tests := []struct {
		name, uri, complete string
		insecure            bool
		wantErr             string // the field named; "" for accepted
	}{
		{name: "https", uri: good, complete: good + "?user_code=WDJB"},
		{name: "http on 127.0.0.1", uri: "http://127.0.0.1:9555/device"},
		{name: "http on localhost", uri: "http://localhost:9555/device"},
		{name: "http on ::1", uri: "http://[::1]:9555/device"},
		{name: "http allowed explicitly", uri: "http://auth.example.com/device", insecure: true},
		{name: "an option", uri: "--help", wantErr: "verification_uri"},
		{name: "an option, even with insecure HTTP", uri: "-new-window", insecure: true, wantErr: "verification_uri"},
		{name: "a local file", uri: "file:///etc/passwd", wantErr: "verification_uri"},
		{name: "a script", uri: "javascript:alert(document.cookie)", wantErr: "verification_uri"},
		{name: "a data URL", uri: "data:text/html,<h1>sign in</h1>", wantErr: "verification_uri"},
		{name: "relative", uri: "/device", wantErr: "verification_uri"},
		{name: "no scheme", uri: "//auth.example.com/device", wantErr: "verification_uri"},
		{name: "plain http", uri: "http://auth.example.com/device", wantErr: "verification_uri"},
		{name: "http under .localhost", uri: "http://auth.localhost/device", wantErr: "verification_uri"},
		{name: "user info", uri: "https://auth.example.com@evil.example/device", wantErr: "verification_uri"},
		{name: "complete an option", uri: good, complete: "--remote-debugging-port=9222", wantErr: "verification_uri_complete"},
		{name: "complete a local file", uri: good, complete: "file:///etc/shadow", wantErr: "verification_uri_complete"},
		{name: "complete plain http", uri: good, complete: "http://auth.example.com/device?user_code=W", wantErr: "verification_uri_complete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"device_code": testDeviceCode, "user_code": "WDJB",
				"verification_uri": tt.uri, "verification_uri_complete": tt.complete, "expires_in": 600})
			if err != nil {
				t.Fatal(err)
			}
			srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) { replyJSON(w, 200, string(body)) })
			c := testConfig(srv)
			c.AllowInsecureHTTP = tt.insecure
			da, err := c.DeviceAuth(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DeviceAuth with %q: %v", tt.uri, err)
				}
				if da.VerificationURI != tt.uri || da.VerificationURIComplete != tt.complete {
					t.Errorf("DeviceAuth = %q, %q; want %q, %q", da.VerificationURI, da.VerificationURIComplete, tt.uri, tt.complete)
				}
				return
			}
			if da != nil {
				t.Errorf("DeviceAuth returned %+v with an error", *da)
			}
			e := asError(t, err)
			if got, want := e.Op, "device authorization"; got != want {
				t.Errorf("Op = %q, want %q", got, want)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantErr+" (want an absolute https URL)") {
				t.Errorf("error %q does not say that %s must be an absolute https URL", msg, tt.wantErr)
			}
			checkNoSecrets(t, err, testDeviceCode)
		})
	}
	t.Run("verification_url", func(t *testing.T) {
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			replyJSON(w, 200, `{"device_code":"d","user_code":"u","verification_url":"--help","expires_in":600}`)
		})
		if _, err := testConfig(srv).DeviceAuth(context.Background()); err == nil || !strings.Contains(err.Error(), "verification_uri") {
			t.Errorf("err = %v, want one about verification_uri", err)
		}
	})
}

// deviceServer answers device polls with the given errors, in order, then with a
// token.
func deviceServer(tb testing.TB, errs ...string) *authServer {
	return newAuthServer(tb, func(w http.ResponseWriter, r seenRequest) {
		if r.N <= len(errs) {
			replyJSON(w, http.StatusBadRequest, `{"error":"`+errs[r.N-1]+`"}`)
			return
		}
		replyToken(w, r)
	})
}

// startDevice is a device authorization made at clock's time, as DeviceAuth
// would return it.
func startDevice(clock *fakeclock.Clock, lifetime, interval time.Duration) *pixie.DeviceAuth {
	return &pixie.DeviceAuth{
		DeviceCode: pixie.NewSecret(testDeviceCode),
		UserCode:   "WDJB-MJHT",
		Expires:    clock.Now().Add(lifetime),
		Interval:   interval,
		Scopes:     []string{"read"},
	}
}

func TestDeviceToken(t *testing.T) {
	s := time.Second
	tests := []struct {
		name      string
		errs      []string
		interval  time.Duration
		wantWaits []time.Duration
		wantErr   error
	}{
		{"approved at once", nil, 5 * s, []time.Duration{5 * s}, nil},
		{"pending then approved", []string{"authorization_pending", "authorization_pending"}, 5 * s, []time.Duration{5 * s, 5 * s, 5 * s}, nil},
		{"slow_down adds 5 seconds each time", []string{"slow_down", "authorization_pending", "slow_down", "authorization_pending"}, 7 * s,
			[]time.Duration{7 * s, 12 * s, 12 * s, 17 * s, 17 * s}, nil},
		{"interval below a second", nil, time.Millisecond, []time.Duration{s}, nil},
		{"access_denied", []string{"authorization_pending", "access_denied"}, 5 * s, []time.Duration{5 * s, 5 * s}, pixie.ErrAccessDenied},
		{"expired_token from the server", []string{"expired_token"}, 5 * s, []time.Duration{5 * s}, pixie.ErrExpiredToken},
		{"invalid_client", []string{"invalid_client"}, 5 * s, []time.Duration{5 * s}, pixie.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStepClock()
			waits := recordSleeps(t, clock)
			srv := deviceServer(t, tt.errs...)
			c := testConfig(srv)
			c.Now = clock.Now
			tok, err := c.DeviceToken(context.Background(), startDevice(clock, 10*time.Minute, tt.interval))
			if !slices.Equal(waits(), tt.wantWaits) {
				t.Errorf("waits = %v, want %v", waits(), tt.wantWaits)
			}
			polls := srv.requests("/token")
			if got, want := len(polls), len(tt.wantWaits); got != want {
				t.Errorf("server received %d polls, want %d", got, want)
			}
			for _, p := range polls {
				checkForm(t, p.Form, map[string]string{
					"grant_type":  "urn:ietf:params:oauth:grant-type:device_code",
					"device_code": testDeviceCode,
				})
				checkAbsent(t, p.Form, "scope")
			}
			if tt.wantErr == nil {
				wantToken(t, tok, err, testAccessToken, "Bearer", []string{"read", "write"})
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if got, want := pixie.LoginRequired(err), tt.wantErr != pixie.ErrInvalidClient; got != want {
				t.Errorf("LoginRequired = %t, want %t", got, want)
			}
			checkNoSecrets(t, err, testDeviceCode)
		})
	}
}

func TestDeviceTokenLocalExpiry(t *testing.T) {
	clock := newStepClock()
	waits := recordSleeps(t, clock)
	srv := deviceServer(t, slices.Repeat([]string{"authorization_pending"}, 100)...)
	c := testConfig(srv)
	c.Now = clock.Now
	_, err := c.DeviceToken(context.Background(), startDevice(clock, 12*time.Second, 5*time.Second))
	if !errors.Is(err, pixie.ErrExpiredToken) || !pixie.LoginRequired(err) {
		t.Errorf("err = %v, want expired_token with LoginRequired", err)
	}
	// Polls at 5 s and 10 s; one at 15 s would come after the code's expiry, so
	// none is sent.
	if got, want := len(srv.requests("/token")), 2; got != want {
		t.Errorf("server received %d polls, want %d", got, want)
	}
	if got, want := waits(), []time.Duration{5 * time.Second, 5 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
	checkNoSecrets(t, err, testDeviceCode)
}

func TestDeviceTokenCancel(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		// The real wait: a done context ends it at once.
		srv := deviceServer(t)
		c := testConfig(srv)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		clock := newStepClock()
		c.Now = clock.Now
		_, err := c.DeviceToken(ctx, startDevice(clock, 2*time.Hour, time.Hour))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if pixie.Temporary(err) {
			t.Error("Temporary = true for a cancelled poll")
		}
		if got := len(srv.requests("/token")); got != 0 {
			t.Errorf("server received %d polls, want 0", got)
		}
	})
	t.Run("cancelled while polling", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clock := newStepClock()
		recordSleeps(t, clock)
		srv := newAuthServer(t, func(w http.ResponseWriter, _ seenRequest) {
			cancel()
			replyJSON(w, http.StatusBadRequest, `{"error":"authorization_pending"}`)
		})
		c := testConfig(srv)
		c.Now = clock.Now
		_, err := c.DeviceToken(ctx, startDevice(clock, time.Minute, 5*time.Second))
		if !errors.Is(err, context.Canceled) || pixie.Temporary(err) {
			t.Errorf("err = %v, want context.Canceled and not Temporary", err)
		}
		if got := len(srv.requests("/token")); got != 1 {
			t.Errorf("server received %d polls, want 1", got)
		}
	})
	t.Run("nil device authorization", func(t *testing.T) {
		c := testConfig(newAuthServer(t, replyToken))
		if _, err := c.DeviceToken(context.Background(), nil); err == nil {
			t.Error("err = nil, want one")
		}
	})
}
