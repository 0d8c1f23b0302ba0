package proctest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
)

// Step is a point of a renewal (see pixie.Source) where [RunCrash] kills the
// renewing process.
type Step string

// The steps of a renewal, in order. Each is reached with the store lock held.
const (
	// BeforeRequest: the refresh request is about to be sent.
	BeforeRequest Step = "before-request"
	// AfterCommit: the server has answered 200, so it has rotated the refresh
	// token, but the response's body is not read yet.
	AfterCommit Step = "after-commit"
	// BeforeSave: the new token is read, and Store.Save is called.
	BeforeSave Step = "before-save"
	// DuringSave: Store.Save is under way but cannot have taken effect (how,
	// depends on the store: see [CrashStore.ArmDuringSave]).
	DuringSave Step = "during-save"
	// BeforeUnlock: the new token is saved; the lease is about to be released.
	BeforeUnlock Step = "before-unlock"
)

// Steps lists every Step in order.
var Steps = []Step{BeforeRequest, AfterCommit, BeforeSave, DuringSave, BeforeUnlock}

// InWindow reports whether the step lies between the server's commit of the
// rotation and the local save: a process that dies there takes the only copy of
// the new refresh token with it.
func (s Step) InWindow() bool { return s == AfterCommit || s == BeforeSave || s == DuringSave }

// crashEnv carries a crash child's [crashSpec], as JSON.
const crashEnv = "PIXIE_CRASH_CHILD"

// crashSpec configures a crash child.
type crashSpec struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Key          string
	Step         Step
	LockTTL      time.Duration
	KilledLease  time.Duration
}

// CrashStore is a Store as a crash child opens it.
type CrashStore struct {
	pixie.Store
	// ArmDuringSave makes the next Save call hook, which never returns, once the
	// save is under way but before it can take effect.
	ArmDuringSave func(hook func())
}

// CrashChild is the body of the test that [RunCrash] runs as its child
// processes: when this process is one, it runs the child with the store open
// returns, and exits; otherwise it skips t.
//
// The child renews the token once, as a fresh process would after the previous
// child was killed, and prints "refreshed <token> <version>" (what it saved,
// see [storedToken]), or "lost <error code>" when the server asks for a new
// login. Told "arm", it arms a hook at its Step and renews again; the hook
// prints "at <step>" ("at before-unlock <token> <version>", with what the
// renewal saved) and blocks until the parent kills the process. Told "exit", it
// exits.
func CrashChild(t *testing.T, open func() (CrashStore, error)) {
	js := os.Getenv(crashEnv)
	if js == "" {
		t.Skip("a child process of the crash tests; it runs only when they start it")
	}
	if err := runCrashChild(js, open); err != nil {
		Die(err)
	}
	os.Exit(0)
}

func runCrashChild(js string, open func() (CrashStore, error)) error {
	var spec crashSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		return err
	}
	st, err := open()
	if err != nil {
		return err
	}
	store := &hookedStore{Store: st.Store, killedLease: spec.KilledLease}
	cfg := &pixie.Config{
		ClientID:     spec.ClientID,
		ClientSecret: pixie.NewSecret(spec.ClientSecret),
		AuthMethod:   pixie.ClientSecretBasic,
		Endpoint:     pixie.Endpoint{TokenURL: spec.TokenURL},
		HTTPClient:   &http.Client{Transport: &hookedTransport{base: http.DefaultTransport, s: store}},
	}
	src := cfg.RefreshSource(pixie.SourceOptions{Store: store, Key: spec.Key, LockTTL: spec.LockTTL})
	ctx, cancel := context.WithTimeout(context.Background(), AnswerTimeout)
	defer cancel()

	tok, err := src.ForceRefresh(ctx)
	if pe := (*pixie.Error)(nil); pixie.LoginRequired(err) && errors.As(err, &pe) {
		fmt.Println("lost", pe.Code)
		return nil
	}
	if err != nil {
		return fmt.Errorf("refresh after the previous kill: %w", err)
	}
	// The Source keeps a token it could not save in memory and saves it at
	// the next renewal, before the armed step: the parent's expectations would
	// be off by one, so that is a failure here.
	if store.saved.print != tokenPrint(tok) {
		return fmt.Errorf("the renewed token was not saved (the store said %v)", store.saveErr)
	}
	fmt.Println("refreshed", store.saved)
	var msg string
	if _, err := fmt.Scanln(&msg); err != nil || msg != "arm" {
		if msg == "exit" {
			return nil
		}
		return fmt.Errorf("unexpected message %q (%v)", msg, err)
	}
	// The hooks read armed only during the renewal, which starts after this.
	store.armed = spec.Step
	if spec.Step == DuringSave {
		if st.ArmDuringSave == nil {
			return errors.New("the store cannot stop during a save")
		}
		st.ArmDuringSave(func() { store.stop(DuringSave) })
	}
	if _, err := src.ForceRefresh(ctx); err != nil {
		return fmt.Errorf("armed refresh: %w", err)
	}
	return fmt.Errorf("the armed refresh ended without reaching %s", spec.Step)
}

// hookedTransport stops at BeforeRequest and AfterCommit.
type hookedTransport struct {
	base http.RoundTripper
	s    *hookedStore
}

func (h *hookedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.s.armed == BeforeRequest {
		h.s.stop(BeforeRequest)
	}
	resp, err := h.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK && h.s.armed == AfterCommit {
		h.s.stop(AfterCommit)
	}
	return resp, err
}

// hookedStore stops at BeforeSave and, through its leases, BeforeUnlock. Once
// armed, its Lock asks for a lease of killedLease instead of the Source's
// LockTTL: the lease the killed process leaves, which the next one waits out.
// It records what it saved last, for the parent.
type hookedStore struct {
	pixie.Store
	killedLease time.Duration
	armed       Step        // set before the armed renewal starts
	saved       storedToken // the token this process saved last
	saveErr     error       // the last Save's error
}

// stop prints where the process stopped and blocks until it is killed.
func (h *hookedStore) stop(at Step) {
	msg := "at " + string(at)
	if at == BeforeUnlock {
		msg += " " + h.saved.String()
	}
	fmt.Println(msg)
	io.Copy(io.Discard, os.Stdin) // until the parent kills the process
	Die(fmt.Errorf("still alive at %s after stdin closed", at))
}

func (h *hookedStore) Save(ctx context.Context, key string, tok *pixie.Token, version uint64) (uint64, error) {
	if h.armed == BeforeSave {
		h.stop(BeforeSave)
	}
	v, err := h.Store.Save(ctx, key, tok, version)
	if h.saveErr = err; err == nil {
		h.saved = storedToken{tokenPrint(tok), v}
	}
	return v, err
}

func (h *hookedStore) Lock(ctx context.Context, key string, ttl time.Duration) (pixie.Lease, error) {
	if h.armed != "" {
		ttl = h.killedLease
	}
	l, err := h.Store.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	return &hookedLease{Lease: l, s: h}, nil
}

type hookedLease struct {
	pixie.Lease
	s *hookedStore
}

func (l *hookedLease) Unlock(ctx context.Context) error {
	if l.s.armed == BeforeUnlock {
		l.s.stop(BeforeUnlock)
	}
	return l.Lease.Unlock(ctx)
}

// Crash configures [RunCrash].
type Crash struct {
	// Test names the test whose body calls [CrashChild].
	Test string
	// Lane sets up the store of one lane of kills, named name: the environment
	// that tells its children where it is, and the store opened as a new
	// process would, with which the parent checks what each kill left.
	Lane func(tb testing.TB, name string) (env []string, st pixie.Store)
	// Kills is the number of kills per step and server.
	Kills int
	// LockTTL is the children's SourceOptions.LockTTL, which bounds the wait
	// for the lock and the work under it: long enough for a renewal on a
	// loaded machine, since the test does not wait it out.
	LockTTL time.Duration
	// KilledLease is the lease the armed renewal takes instead of LockTTL: the
	// lease a killed child leaves behind, which the next child waits out.
	KilledLease time.Duration
	// Grace is the rotation grace period of the second server
	// (devserver.Options.RotationGracePeriod).
	Grace time.Duration
}

// Outcome is what the kills at one step did.
type Outcome struct {
	Step  Step
	Grace time.Duration // the server's rotation grace period
	Kills int
	Lost  int // kills after which the next refresh was refused: a new login was needed
}

// RunCrash kills c.Kills renewing child processes at every [Step], once against
// a devserver that rotates refresh tokens and revokes the grant when a
// rotated-out one comes back, and once against one with a rotation grace period
// of c.Grace. Each step runs its kills in turn, in a lane with its own store
// (c.Lane), key and login; the lanes run at once.
//
// Before each kill the store must hold what the child reported it saved; after
// it, the store must hold the last token saved: the one the dead child saved
// (version + 1) after BeforeUnlock, the one from before its renewal otherwise,
// intact. The next child then renews, as a fresh process: that must succeed,
// except after a kill in the commit-to-save window ([Step.InWindow]) with no
// grace period, where the server has rotated the stored refresh token out and
// refuses it; that is counted as lost (every such kill must lose), and the test
// logs in again. With the grace period nothing may be lost.
func RunCrash(t *testing.T, c Crash) []Outcome {
	t.Helper()
	var outcomes []Outcome
	servers := map[time.Duration]*devservertest.Server{}
	for _, grace := range []time.Duration{0, c.Grace} {
		servers[grace] = devservertest.NewServer(t, func(o *devserver.Options) {
			o.AccessTokenFormat = devserver.FormatOpaque // no RSA signature per refresh
			o.RotationGracePeriod = grace
		})
		for _, step := range Steps {
			outcomes = append(outcomes, Outcome{Step: step, Grace: grace, Kills: c.Kills})
		}
	}
	// The lanes run at once: their time goes mostly to waiting out the lease
	// each kill leaves. Subtests started from several goroutines run at once
	// without counting against -test.parallel.
	var wg sync.WaitGroup
	for i := range outcomes {
		o := &outcomes[i]
		wg.Go(func() {
			t.Run(fmt.Sprintf("%s/grace=%v", o.Step, o.Grace), func(t *testing.T) {
				crashLane(t, c, servers[o.Grace], o)
			})
		})
	}
	wg.Wait()
	for _, o := range outcomes {
		t.Logf("%-14s grace %-5v %d kills, %d lost the grant (a new login was needed)", o.Step, o.Grace, o.Kills, o.Lost)
	}
	return outcomes
}

// crashLane runs the kills of one step against dev, counting the losses in o.
func crashLane(t *testing.T, c Crash, dev *devservertest.Server, o *Outcome) {
	cfg := dev.Config(dev.Confidential)
	cfg.Scopes = []string{"offline_access"}
	key := fmt.Sprintf("crash-%s-grace-%v", o.Step, o.Grace)
	env, st := c.Lane(t, key)
	login := func() {
		t.Helper()
		tok := Login(t, dev, cfg)
		_, ver, err := st.Load(t.Context(), key)
		if err != nil && !errors.Is(err, pixie.ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := st.Save(t.Context(), key, tok, ver); err != nil {
			t.Fatalf("saving a new login: %v", err)
		}
	}
	login()
	spec, err := json.Marshal(crashSpec{TokenURL: cfg.Endpoint.TokenURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret.Reveal(),
		Key: key, Step: o.Step, LockTTL: c.LockTTL, KilledLease: c.KilledLease})
	if err != nil {
		t.Fatal(err)
	}
	env = append([]string{crashEnv + "=" + string(spec)}, env...)
	started := 0
	spawn := func() *Child {
		started++
		return Start(t, fmt.Sprintf("child %d", started), c.Test, env...)
	}
	window := o.Step.InWindow() && o.Grace == 0
	for kill := 0; ; kill++ {
		// A fresh process renews the token the previous kill left.
		ch := spawn()
		line, ok := ch.Next(t)
		code, lost := strings.CutPrefix(line, "lost ")
		switch {
		case !ok:
			t.Fatalf("%s exited before renewing; %s", ch.Name, ch.Status())
		case lost && (kill == 0 || !window):
			t.Fatalf("after kill %d: the next refresh was refused (%s): the grant was lost", kill, code)
		case lost:
			o.Lost++
			ch.Finish(t)
			login() // as the user would
			ch = spawn()
			line = "refreshed " + ch.Expect(t, "refreshed ")
		}
		if kill == o.Kills {
			ch.Send(t, "exit")
			ch.Finish(t)
			break
		}
		before := storedPrint(t, st, key)
		if want := parseStored(t, ch, line, "refreshed "); before != want {
			t.Fatalf("after %s renewed, the store holds %v, want what it saved, %v", ch.Name, before, want)
		}
		ch.Send(t, "arm")
		at := ch.Expect(t, "at "+string(o.Step))
		ch.Kill(t)
		after := storedPrint(t, st, key)
		want := before
		if o.Step == BeforeUnlock {
			// The token the dead process saved.
			want = parseStored(t, ch, at, " ")
			if want.version != before.version+1 || want.print == before.print {
				t.Fatalf("kill %d before the unlock: the renewal saved %v over %v, want a new token as version %d", kill+1, want, before, before.version+1)
			}
		}
		if after != want {
			t.Fatalf("kill %d at %s: the store holds %v, want %v", kill+1, o.Step, after, want)
		}
	}
	if want := map[bool]int{true: o.Kills, false: 0}[window]; o.Lost != want {
		t.Errorf("%d of %d kills at %s lost the grant, want %d", o.Lost, o.Kills, o.Step, want)
	}
}

// storedToken identifies a stored token without revealing it: the fingerprints
// of its access and refresh tokens, and its version.
type storedToken struct {
	print   string
	version uint64
}

func (s storedToken) String() string { return fmt.Sprintf("%s %d", s.print, s.version) }

// parseStored reads a storedToken from the rest of line after prefix, which
// ch said.
func parseStored(t *testing.T, ch *Child, line, prefix string) storedToken {
	t.Helper()
	var s storedToken
	if _, err := fmt.Sscanf(strings.TrimPrefix(line, prefix), "%s %d", &s.print, &s.version); err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("%s said %q, want %q followed by a token and its version; %s", ch.Name, line, prefix, ch.Status())
	}
	return s
}

func tokenPrint(tok *pixie.Token) string {
	return Fingerprint(tok.AccessToken) + "/" + Fingerprint(tok.RefreshToken)
}

func storedPrint(t *testing.T, st pixie.Store, key string) storedToken {
	t.Helper()
	tok, ver, err := st.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("loading the token: %v", err)
	}
	return storedToken{tokenPrint(tok), ver}
}

// Login runs the authorization code flow of cfg against dev and returns a token
// with a refresh token.
func Login(tb testing.TB, dev *devservertest.Server, cfg *pixie.Config) *pixie.Token {
	tb.Helper()
	ctx := context.Background()
	ar, err := cfg.NewAuthRequest(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := cfg.HandleCallback(ctx, ar, dev.Authorize(tb, ar.URL).Query())
	if err != nil {
		tb.Fatalf("login: %v", err)
	}
	if tok.RefreshToken.IsZero() {
		tb.Fatal("login: the server issued no refresh token")
	}
	return tok
}

// Fingerprint names a secret without revealing it: the start of its SHA-256.
func Fingerprint(s pixie.Secret) string {
	sum := sha256.Sum256([]byte(s.Reveal()))
	return hex.EncodeToString(sum[:6])
}
