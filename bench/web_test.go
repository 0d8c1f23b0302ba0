package bench_test

import (
	"context"
	"database/sql"
	"encoding/gob"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"

	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/testenv"
	"github.com/pixieauth/pixie/web"
	"github.com/pixieauth/pixie/web/redissession"
	"github.com/pixieauth/pixie/web/sqlitesession"
)

// sessionUser is what a signed-in request needs from its session: who the user
// is and their tokens. The scs handler keeps it in its session as one value,
// copied from the session pixie made at sign-in, so both read the same data.
type sessionUser struct {
	Provider, Subject, Name, Email string
	Claims                         map[string]any
	AccessToken, RefreshToken      string
	IDToken                        string
	Expiry                         time.Time
}

func init() { gob.Register(sessionUser{}) }

// signedIn is one implementation's handler for a signed-in request and the
// session cookie of its signed-in browser.
type signedIn struct {
	name    string
	handler http.Handler
	cookie  *http.Cookie
}

// serve sends one GET with the session cookie through the handler and checks
// that the user was found.
func (s signedIn) serve(rw *discardWriter) error {
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	req.AddCookie(s.cookie)
	rw.reset()
	s.handler.ServeHTTP(rw, req)
	if rw.status != http.StatusOK {
		return fmt.Errorf("%s: status %d, want 200", s.name, rw.status)
	}
	return nil
}

// discardWriter is a ResponseWriter that keeps only the status, so that the
// benchmark measures the handlers rather than a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

// sealKey is the session stores' sealing key in the benchmark: 32 zero bytes
// in base64, fixed so the benchmark needs no key file or environment.
const sealKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

// BenchmarkSignedInRequest measures one GET of a signed-in browser through
// session middleware to a handler that reads the user and their access token,
// with the session in SQLite and in Redis:
//
//   - impl=pixie: web.Require over web/sqlitesession or web/redissession, the
//     handler calling web.UserFrom and the user's TokenSource; the session was
//     made by a real sign-in at a devserver. The store is read on every
//     request; the session is decoded once and then taken from the Web's
//     cache while the store returns the same version;
//   - impl=pixie-nocache: the same with the cache off (web.CacheSize(-1)), so
//     the session is decoded on every request;
//   - impl=scs: github.com/alexedwards/scs/v2's LoadAndSave over its
//     sqlite3store (on the same SQLite driver) or goredisstore (on the same
//     Redis client), the handler reading a session value holding the same
//     user, claims and tokens, and checking the token's expiry.
//
// Neither writes the session back: pixie records activity at most once a
// minute, and scs writes only a changed session. pixie seals its sessions
// (AES-256-GCM) and scs stores them in the clear, so pixie opens a sealed
// record on every request.
//
// Besides the wall time (ns/op), cpu-ns/op is the CPU time the process used
// per request (Unix only): on a machine shared with other work it moves less
// than the wall time, which includes waiting for a core. The Redis server's
// own CPU time is not in it.
func BenchmarkSignedInRequest(b *testing.B) {
	for _, backend := range []string{"sqlite", "redis"} {
		b.Run("store="+backend, func(b *testing.B) {
			for _, s := range signedInHandlers(b, backend) {
				b.Run("impl="+s.name, func(b *testing.B) {
					rw := &discardWriter{h: http.Header{}}
					b.ReportAllocs()
					cpu0, ok := processCPU()
					for b.Loop() {
						if err := s.serve(rw); err != nil {
							b.Fatal(err)
						}
					}
					if cpu1, ok1 := processCPU(); ok && ok1 {
						b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
					}
				})
			}
		})
	}
}

// signedInHandlers signs a browser in to pixie's web package at a devserver,
// copies its user and tokens into an scs session, and returns both handlers
// with their session cookies, for the "sqlite" or "redis" backend.
func signedInHandlers(b *testing.B, backend string) []signedIn {
	b.Helper()
	var (
		pixieStore web.SessionStore
		scsStore   scs.Store
	)
	switch backend {
	case "sqlite":
		dir := b.TempDir()
		ps, err := sqlitesession.Open(filepath.Join(dir, "pixie", "sessions.db"), sqlitesession.WithKeys(sealKey))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ps.Close() })
		pixieStore = ps
		scsStore = scsSQLite(b, filepath.Join(dir, "scs.db"))
	case "redis":
		rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(b), ContextTimeoutEnabled: true})
		b.Cleanup(func() { rdb.Close() })
		prefix := fmt.Sprintf("pixie-bench-%d:", time.Now().UnixNano())
		ps, err := redissession.New(rdb, redissession.WithKeys(sealKey), redissession.WithPrefix(prefix))
		if err != nil {
			b.Fatal(err)
		}
		pixieStore = ps
		scsStore = goredisstore.NewWithPrefix(rdb, prefix+"scs:")
		b.Cleanup(func() { deleteKeys(rdb, prefix) })
	}
	px, user := pixieSignedIn(b, pixieStore)
	return append(px, scsSignedIn(b, scsStore, user))
}

// pixieSignedIn signs a browser in through web.Login and web.Callback at a
// devserver that approves at once, and returns the handlers of a signed-in
// request (with and without the session cache) with the browser's session
// cookie, and the user and tokens of the session.
func pixieSignedIn(b *testing.B, store web.SessionStore) ([]signedIn, sessionUser) {
	b.Helper()
	ctx := context.Background()
	ds := devservertest.NewServer(b)
	app := httptest.NewUnstartedServer(nil)
	opts := []web.Option{web.BaseURL("http://" + app.Listener.Addr().String()), web.Store(store),
		web.WithProvider(web.Provider{Name: "dev", Config: *ds.Config(ds.Confidential)})}
	w, err := web.New(ctx, opts...)
	if err != nil {
		b.Fatal(err)
	}
	// A second instance of the app without the session cache serves the same
	// session, for impl=pixie-nocache.
	nocache, err := web.New(ctx, append(opts, web.CacheSize(-1))...)
	if err != nil {
		b.Fatal(err)
	}
	var user sessionUser
	handler := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u := web.UserFrom(r.Context())
		tok, err := u.TokenSource().Token(r.Context())
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		user = sessionUser{Provider: u.Provider, Subject: u.Subject, Name: u.Name, Email: u.Email, Claims: u.Claims,
			AccessToken: tok.AccessToken.Reveal(), RefreshToken: tok.RefreshToken.Reveal(),
			IDToken: tok.IDToken.Reveal(), Expiry: tok.Expiry}
		io.WriteString(rw, u.Name)
	})
	api := w.Require(handler)
	mux := http.NewServeMux()
	mux.Handle("/login", w.Login())
	mux.Handle("/callback", w.Callback())
	mux.Handle("/api", api)
	app.Config.Handler = mux
	app.Start()
	b.Cleanup(app.Close)

	jar, _ := cookiejar.New(nil) // never fails without options
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(app.URL + "/login?return_to=/api")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != ds.User.Name {
		b.Fatalf("pixie: sign-in ended with %s %q, want 200 %q", resp.Status, body, ds.User.Name)
	}
	cookie := sessionCookie(b, jar, app.URL, "pixie-session")
	if user.AccessToken == "" || user.RefreshToken == "" {
		b.Fatal("pixie: the signed-in session holds no access and refresh token")
	}
	return []signedIn{{name: "pixie", handler: api, cookie: cookie},
		{name: "pixie-nocache", handler: nocache.Require(handler), cookie: cookie}}, user
}

// scsSignedIn starts an scs session holding user in store, and returns the
// handler of a signed-in request with the session's cookie.
func scsSignedIn(b *testing.B, store scs.Store, user sessionUser) signedIn {
	b.Helper()
	sm := scs.New()
	sm.Store = store
	login := sm.LoadAndSave(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if err := sm.RenewToken(r.Context()); err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		sm.Put(r.Context(), "user", user)
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sm.Cookie.Name {
			cookie = c
		}
	}
	if cookie == nil {
		b.Fatalf("scs: signing in set no %s cookie (status %d)", sm.Cookie.Name, rec.Code)
	}
	api := sm.LoadAndSave(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		u, ok := sm.Get(r.Context(), "user").(sessionUser)
		// The same check as pixie's: a token is served until a minute before
		// it expires.
		if !ok || !time.Now().Before(u.Expiry.Add(-time.Minute)) {
			http.Error(rw, "signed out", http.StatusUnauthorized)
			return
		}
		io.WriteString(rw, u.Name)
	}))
	return signedIn{name: "scs", handler: api, cookie: cookie}
}

// scsSQLite opens scs's SQLite store on a new database at path, with the table
// its documentation gives, over the modernc.org/sqlite driver pixie uses, in
// WAL mode as pixie's store is.
func scsSQLite(b *testing.B, path string) scs.Store {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL);
CREATE INDEX sessions_expiry_idx ON sessions(expiry);`); err != nil {
		b.Fatal(err)
	}
	return sqlite3store.NewWithCleanupInterval(db, 0)
}

// sessionCookie returns the cookie the jar holds for rawURL under name.
func sessionCookie(b *testing.B, jar http.CookieJar, rawURL, name string) *http.Cookie {
	b.Helper()
	u, _ := url.Parse(rawURL) // an httptest URL
	for _, c := range jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	b.Fatalf("the browser holds no %s cookie", name)
	return nil
}

// deleteKeys removes the Redis keys under prefix.
func deleteKeys(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}
