// Command webapp is pixie's web app example: "Sign in", the user's name and
// claims, an API called with the user's token, and "Sign out".
//
//	go run ./examples/webapp
//
// starts its own pixie devserver (sign in as alice / wonderland) and serves the
// app at http://127.0.0.1:8080. Give -issuer, -client-id and -client-secret
// (or PIXIE_CLIENT_SECRET) to sign in with another OpenID provider, whose
// client must allow the redirect URI <app URL>/callback. Sessions are kept in
// SQLite (-sessions), or in Redis with -redis, sealed with the key in
// PIXIE_STORE_KEY or, for SQLite, a key file beside the database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/examples/webapp/app"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/redissession"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve the app on")
	issuer := flag.String("issuer", "", "OpenID provider to sign in with; empty starts a pixie devserver")
	clientID := flag.String("client-id", "webapp", "the app's client ID at the provider")
	clientSecret := flag.String("client-secret", "", "the app's client secret (or PIXIE_CLIENT_SECRET)")
	sessions := flag.String("sessions", defaultSessionsPath(), "SQLite file of the sessions")
	redisAddr := flag.String("redis", "", "Redis address (host:port) to keep the sessions in instead of SQLite")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + ln.Addr().String()
	secret := *clientSecret
	if secret == "" {
		secret = os.Getenv("PIXIE_CLIENT_SECRET")
	}
	if *issuer == "" {
		dev, err := startDevServer(baseURL)
		if err != nil {
			return err
		}
		defer dev.Close()
		*issuer, *clientID, secret = dev.issuer, devClientID, devClientSecret
		fmt.Printf("devserver at %s; sign in as alice / wonderland\n", dev.issuer)
	}

	store, closeStore, err := openStore(*sessions, *redisAddr)
	if err != nil {
		return err
	}
	defer closeStore()
	h, err := app.New(ctx, app.Config{BaseURL: baseURL, Issuer: *issuer, ClientID: *clientID,
		ClientSecret: pixie.NewSecret(secret), Store: store, Logger: logger})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Printf("web app at %s\n", baseURL)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func defaultSessionsPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "pixie-webapp", "sessions.db")
}

// openStore opens the Redis session store when redisAddr is set, and the
// SQLite one at path otherwise.
func openStore(path, redisAddr string) (web.SessionStore, func(), error) {
	if redisAddr != "" {
		c := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
		s, err := redissession.New(c)
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return s, func() { c.Close() }, nil
	}
	s, err := sqlitesession.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

// The devserver's client for the app, and its user.
const (
	devClientID     = "webapp"
	devClientSecret = "webapp-secret"
)

type devServer struct {
	issuer string
	srv    *devserver.Server
	http   *http.Server
}

// startDevServer serves a devserver on a loopback port with the app's client,
// whose redirect URI is the app's callback and whose post-logout redirect URI
// is the app's home page, and the user alice.
func startDevServer(baseURL string) (*devServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	issuer := "http://" + ln.Addr().String()
	srv, err := devserver.New(devserver.Options{
		Issuer: issuer,
		Clients: []devserver.Client{{ID: devClientID, Secret: pixie.NewSecret(devClientSecret), Name: "pixie web app example",
			RedirectURIs: []string{baseURL + "/callback"}, PostLogoutRedirectURIs: []string{baseURL + "/"}}},
		Users: []devserver.User{{Username: "alice", Password: pixie.NewSecret("wonderland"),
			Name: "Alice Liddell", Email: "alice@example.test"}},
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return &devServer{issuer: issuer, srv: srv, http: hs}, nil
}

func (d *devServer) Close() {
	d.http.Close()
	d.srv.Close()
}
