package pixie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// withResources turns on the devserver's demo protected API.
func withResources(o *devserver.Options) { o.ProtectedResources = true }

// loginRecorder is a pixie.LoginFunc that plays the user's browser on the
// devserver's pages, and records the scopes of each login.
type loginRecorder struct {
	dev    *devservertest.Server
	mu     sync.Mutex
	scopes [][]string
}

func (l *loginRecorder) login(ctx context.Context, cfg *pixie.Config, opts ...pixie.Option) (*pixie.Token, error) {
	ar, err := cfg.NewAuthRequest(ctx, opts...)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.scopes = append(l.scopes, ar.Scopes)
	l.mu.Unlock()
	cb, err := l.dev.Browser().Authorize(ctx, ar.URL)
	if err != nil {
		return nil, err
	}
	return cfg.HandleCallback(ctx, ar, cb.Query())
}

func (l *loginRecorder) logins() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.scopes)
}

// logBuffer is a slog logger whose records a test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func getJSON(t *testing.T, c *http.Client, url string) (int, map[string]any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestForResource reaches the devserver's demo API from its URL alone:
// discovery, a new registration, a login when the API answers 401, the token's
// audience, a stored registration on the next run, a refresh that keeps the
// resource, refusal of the token at another resource, and a step-up.
func TestForResource(t *testing.T) {
	dev := devservertest.NewServer(t, withResources)
	api := dev.URL + "/api"
	l := &loginRecorder{dev: dev}
	store := &pixie.MemoryStore{}
	var logs logBuffer
	opts := pixie.ResourceOptions{
		Login:         l.login,
		Registrations: pixie.StoreRegistrations(store),
		Source:        pixie.SourceOptions{Store: store},
		Logger:        logs.logger(),
	}
	ctx := context.Background()
	r, err := pixie.ForResource(ctx, api, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r.Client != pixie.ClientNewRegistration || r.Registration == nil || !strings.HasPrefix(r.Config.ClientID, "dyn-") {
		t.Fatalf("client = %s %q, want a new registration", r.Client, r.Config.ClientID)
	}
	if got, want := r.Config.Resources, []string{api}; !slices.Equal(got, want) {
		t.Errorf("Config.Resources = %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), "client=new-registration") {
		t.Errorf("the choice is not logged: %s", logs.String())
	}

	client := r.HTTPClient()
	status, body := getJSON(t, client, api)
	if status != http.StatusOK {
		t.Fatalf("GET /api: HTTP %d %v", status, body)
	}
	if got := l.logins(); len(got) != 1 || !slices.Equal(got[0], []string{"api"}) {
		t.Errorf("logins = %q, want one for the scope of the API's challenge", got)
	}
	if got, want := body["aud"], []any{api}; !slices.Equal(got.([]any), want) {
		t.Errorf("token aud = %v, want %v", got, want)
	}

	t.Run("stored registration", func(t *testing.T) {
		var logs2 logBuffer
		o := opts
		o.Logger = logs2.logger()
		again, err := pixie.ForResource(ctx, api, o)
		if err != nil {
			t.Fatal(err)
		}
		if again.Client != pixie.ClientStoredRegistration || again.Config.ClientID != r.Config.ClientID {
			t.Errorf("second run: client %s %q, want the stored registration %q", again.Client, again.Config.ClientID, r.Config.ClientID)
		}
		if !strings.Contains(logs2.String(), "client=stored-registration") {
			t.Errorf("the choice is not logged: %s", logs2.String())
		}
		// The token stored by the first run serves the second: no login.
		if status, _ := getJSON(t, again.HTTPClient(), api); status != http.StatusOK {
			t.Errorf("GET /api with the stored token: HTTP %d", status)
		}
		if n := len(l.logins()); n != 1 {
			t.Errorf("%d logins, want still 1", n)
		}
	})

	t.Run("refresh keeps the resource", func(t *testing.T) {
		tok, err := r.Source.ForceRefresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, api, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("refreshed token at /api: HTTP %d, want 200", resp.StatusCode)
		}
	})

	t.Run("token refused at another resource", func(t *testing.T) {
		tok, err := r.Source.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, dev.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken.Reveal())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ch := pixie.Challenges(resp.Header)
		if resp.StatusCode != http.StatusUnauthorized || len(ch) != 1 || ch[0].Error != "invalid_token" {
			t.Errorf("token for /api at /userinfo: HTTP %d %+v, want 401 invalid_token", resp.StatusCode, ch)
		}
		if len(ch) == 1 && ch[0].ResourceMetadata != dev.URL+"/.well-known/oauth-protected-resource/userinfo" {
			t.Errorf("resource_metadata = %q", ch[0].ResourceMetadata)
		}
	})

	t.Run("step-up", func(t *testing.T) {
		o := opts
		o.Scopes = []string{"api"}
		o.Source.Key = "step-up"
		s, err := pixie.ForResource(ctx, api, o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Login(ctx); err != nil {
			t.Fatal(err)
		}
		before := len(l.logins())
		status, body := getJSON(t, s.HTTPClient(), dev.URL+"/api/admin")
		if status != http.StatusOK {
			t.Fatalf("GET /api/admin: HTTP %d %v", status, body)
		}
		got := l.logins()[before:]
		if len(got) != 1 || !slices.Equal(got[0], []string{"api", "admin"}) {
			t.Errorf("step-up logins = %q, want one for [api admin]", got)
		}
		if body["scope"] != "api admin" {
			t.Errorf("scope after step-up = %v", body["scope"])
		}
	})
}

// TestForResourceFailures checks the refusals: an authorization server the
// metadata does not list, a refused registration, and no way to get a client.
func TestForResourceFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("server not listed", func(t *testing.T) {
		dev := devservertest.NewServer(t, withResources)
		_, err := pixie.ForResource(ctx, dev.URL+"/api", pixie.ResourceOptions{Issuer: "http://127.0.0.1:1/other"})
		if err == nil || !strings.Contains(err.Error(), "is not one protected resource") {
			t.Errorf("err = %v, want a refusal of the unlisted server", err)
		}
	})
	t.Run("registration refused", func(t *testing.T) {
		dev := devservertest.NewServer(t, withResources, func(o *devserver.Options) { o.RegistrationToken = pixie.NewSecret("initial") })
		_, err := pixie.ForResource(ctx, dev.URL+"/api", pixie.ResourceOptions{})
		if !pixie.ErrInvalidToken.Is(err) && !strings.Contains(err.Error(), "invalid_token") {
			t.Errorf("err = %v, want the registration's 401 invalid_token", err)
		}
		r, err := pixie.ForResource(ctx, dev.URL+"/api", pixie.ResourceOptions{InitialAccessToken: pixie.NewSecret("initial")})
		if err != nil || r.Client != pixie.ClientNewRegistration {
			t.Errorf("with the initial access token: %v", err)
		}
	})
	t.Run("given client ID when registration fails", func(t *testing.T) {
		dev := devservertest.NewServer(t, withResources, func(o *devserver.Options) { o.RegistrationToken = pixie.NewSecret("initial") })
		r, err := pixie.ForResource(ctx, dev.URL+"/api", pixie.ResourceOptions{ClientID: "public"})
		if err != nil || r.Client != pixie.ClientGiven || r.Config.ClientID != "public" {
			t.Errorf("ForResource = %+v, %v; want the given client", r, err)
		}
	})
}

// TestForResourceExpiredRegistration checks that a stored registration whose
// secret expired (client_secret_expires_at) is not used: the devserver refuses
// the secret, and ForResource registers again.
func TestForResourceExpiredRegistration(t *testing.T) {
	clk := newClock()
	dev := devservertest.NewServer(t, withResources, func(o *devserver.Options) {
		o.Now = clk.Now
		o.RegistrationSecretTTL = time.Hour
	})
	ctx := context.Background()
	m, err := (&pixie.Discovery{Now: clk.Now}).Discover(ctx, dev.URL)
	if err != nil {
		t.Fatal(err)
	}
	g := &pixie.Registrar{Now: clk.Now}
	reg, err := g.Register(ctx, m, pixie.ClientMetadata{
		RedirectURIs: []string{pixie.DefaultRedirectURL},
		GrantTypes:   []string{"authorization_code", "refresh_token", "client_credentials"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reg.SecretExpiresAt, clk.Now().Add(time.Hour).Truncate(time.Second); !got.Equal(want) {
		t.Fatalf("SecretExpiresAt = %v, want %v", got, want)
	}
	cfg := &pixie.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: m.Endpoint(), Now: clk.Now}
	if _, err := cfg.ClientCredentials(ctx); err != nil {
		t.Fatalf("the fresh secret: %v", err)
	}
	store := pixie.StoreRegistrations(&pixie.MemoryStore{})
	if err := store.SaveRegistration(ctx, m.Issuer, reg); err != nil {
		t.Fatal(err)
	}

	clk.Advance(2 * time.Hour)
	if !reg.Expired(clk.Now()) {
		t.Error("Expired = false two hours into a one-hour secret")
	}
	if _, err := cfg.ClientCredentials(ctx); !pixie.ErrInvalidClient.Is(err) {
		t.Errorf("the expired secret at the token endpoint: %v, want invalid_client", err)
	}
	var logs logBuffer
	r, err := pixie.ForResource(ctx, dev.URL+"/api", pixie.ResourceOptions{Registrations: store, Now: clk.Now, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Client != pixie.ClientNewRegistration || r.Config.ClientID == reg.ClientID {
		t.Errorf("client = %s %q, want a new registration", r.Client, r.Config.ClientID)
	}
	if !strings.Contains(logs.String(), "expired") {
		t.Errorf("the expiry is not logged: %s", logs.String())
	}
	kept, err := store.LoadRegistration(ctx, m.Issuer)
	if err != nil || kept.ClientID != r.Config.ClientID {
		t.Errorf("stored registration = %v, %v; want the new one", kept, err)
	}
}

// TestTransportLoginWithoutToken checks that a Transport with no token sends
// the request bare, logs in once on the 401 naming the resource's metadata,
// even for concurrent requests, and replays the request with the new token.
func TestTransportLoginWithoutToken(t *testing.T) {
	dev := devservertest.NewServer(t, withResources)
	r, err := pixie.ForResource(context.Background(), dev.URL+"/api", pixie.ResourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := &loginRecorder{dev: dev}
	var calls atomic.Int32
	tr := &pixie.Transport{Source: r.Source, Login: func(ctx context.Context, ch *pixie.Challenge, scopes []string) error {
		calls.Add(1)
		if ch.ResourceMetadata != dev.URL+"/.well-known/oauth-protected-resource/api" || !slices.Equal(scopes, []string{"api"}) {
			t.Errorf("Login(%+v, %q)", ch, scopes)
		}
		tok, err := l.login(ctx, r.Config, pixie.Scopes(scopes...))
		if err != nil {
			return err
		}
		return r.Source.Put(ctx, tok)
	}}
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			resp, err := client.Post(dev.URL+"/api", "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("HTTP %d", resp.StatusCode)
			}
		})
	}
	waitGroup(t, &wg, "the concurrent requests")
	if n := calls.Load(); n < 1 || n > 4 {
		t.Errorf("Login called %d times", n)
	}
	t.Run("without Login the error stays", func(t *testing.T) {
		src := r.Config.RefreshSource(pixie.SourceOptions{Key: "other"})
		_, err := (&http.Client{Transport: &pixie.Transport{Source: src}}).Get(dev.URL + "/api")
		if !pixie.LoginRequired(err) {
			t.Errorf("err = %v, want one for which LoginRequired is true", err)
		}
	})
}
