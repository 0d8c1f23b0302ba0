package pixie_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of several loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsHoldNoSecrets runs every flow with debug logging on the client, the
// Source and the devserver, then searches the logs for every credential that
// crossed the wire.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := devservertest.NewServer(t, func(o *devserver.Options) { o.Logger = logger })
	ctx := context.Background()
	cfg := s.Config(s.Confidential)
	cfg.Logger = logger

	var secrets []string
	keep := func(tok *pixie.Token) {
		for _, v := range []pixie.Secret{tok.AccessToken, tok.RefreshToken, tok.IDToken} {
			if !v.IsZero() {
				secrets = append(secrets, v.Reveal())
			}
		}
	}

	cc, err := cfg.ClientCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keep(cc)

	ar, err := cfg.NewAuthRequest(ctx, pixie.Scopes("openid", "offline_access"))
	if err != nil {
		t.Fatal(err)
	}
	callback := s.Authorize(t, ar.URL)
	secrets = append(secrets, ar.Verifier.Reveal(), callback.Query().Get("code"))
	tok, err := cfg.HandleCallback(ctx, ar, callback.Query())
	if err != nil {
		t.Fatal(err)
	}
	keep(tok)

	src := cfg.RefreshSource(pixie.SourceOptions{Logger: logger})
	if err := src.Put(ctx, tok); err != nil {
		t.Fatal(err)
	}
	fresh, err := src.ForceRefresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keep(fresh)
	// Reusing the rotated refresh token fails, and that failure is logged too.
	if _, err := cfg.Refresh(ctx, tok); !pixie.LoginRequired(err) {
		t.Fatalf("reuse of a rotated refresh token: %v", err)
	}

	exchanged, err := cfg.TokenExchange(ctx, pixie.TokenExchangeRequest{
		SubjectToken: cc.AccessToken, SubjectTokenType: pixie.TokenTypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	keep(exchanged)
	if _, err := cfg.Introspect(ctx, cc.AccessToken, pixie.HintAccessToken); err != nil {
		t.Fatal(err)
	}
	if err := cfg.RevokeToken(ctx, cc); err != nil {
		t.Fatal(err)
	}

	out := logs.String()
	if !strings.Contains(out, `"level":"DEBUG"`) || !strings.Contains(out, "/token") {
		t.Fatalf("the flows logged nothing at debug level; the test would prove nothing:\n%s", out)
	}
	secrets = append(secrets, s.Confidential.Secret.Reveal())
	for _, v := range secrets {
		if strings.Contains(out, v) {
			t.Errorf("the logs hold a credential (%d bytes starting %.4q)", len(v), v)
		}
	}
}
