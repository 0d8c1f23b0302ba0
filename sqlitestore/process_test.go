package sqlitestore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/internal/seal"
	"github.com/pixieauth/pixie/sqlitestore"
	"github.com/pixieauth/pixie/storetest"
)

// The tests below run this test binary again as child processes (the helper
// process pattern): TestMain runs the child named by childEnv instead of the
// tests. A child opens the store at pathEnv with the key in seal.EnvVar.
const (
	childEnv  = "SQLITESTORE_TEST_CHILD"
	pathEnv   = "SQLITESTORE_TEST_PATH"
	roundsEnv = "SQLITESTORE_TEST_ROUNDS"
)

func TestMain(m *testing.M) {
	if child := os.Getenv(childEnv); child != "" {
		if err := runChild(child); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", child, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(child string) error {
	s, err := sqlitestore.Open(os.Getenv(pathEnv), sqlitestore.WithResolver(seal.Resolver{Env: seal.EnvVar}))
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch child {
	case "increment":
		rounds, err := strconv.Atoi(os.Getenv(roundsEnv))
		if err != nil {
			return err
		}
		return incrementUnderLock(ctx, s, rounds, filepath.Join(filepath.Dir(s.Path()), "counter.txt"))
	case "save":
		fmt.Println("ready")
		for {
			n, err := saveNext(ctx, s)
			if err != nil {
				return err
			}
			fmt.Println(n) // reported only once Save made it durable
		}
	}
	return fmt.Errorf("unknown child %q", child)
}

// incrementUnderLock increments, rounds times and under the store's lock, both
// the token's count and a count in a plain file that only the lock protects.
// Since the lock is held, every Save must succeed at the first try.
func incrementUnderLock(ctx context.Context, s *sqlitestore.Store, rounds int, file string) error {
	for range rounds {
		lease, err := s.Lock(ctx, "counter", time.Minute)
		if err != nil {
			return err
		}
		tok, v, err := s.Load(ctx, "counter")
		if err != nil {
			return err
		}
		n, _ := tok.Extra["count"].(float64)
		if _, err := s.Save(ctx, "counter", storetest.WithCount(tok, int(n)+1), v); err != nil {
			return fmt.Errorf("save under the lock: %w", err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		fileCount, err := strconv.Atoi(string(b))
		if err != nil {
			return err
		}
		if err := os.WriteFile(file, []byte(strconv.Itoa(fileCount+1)), 0o600); err != nil {
			return err
		}
		if err := lease.Unlock(ctx); err != nil {
			return err
		}
	}
	return nil
}

func TestCrossProcessLock(t *testing.T) {
	const procs, rounds = 8, 25
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.db")
	key := newKey(t)
	s := mustOpen(t, path, sqlitestore.WithKeySet(mustKeySet(t, key)))
	storetest.MustSave(t, s, "counter", storetest.WithCount(storetest.Token("c"), 0), 0)
	if err := os.WriteFile(filepath.Join(dir, "counter.txt"), []byte("0"), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			cmd := child(t, "increment", path, key, roundsEnv+"="+strconv.Itoa(rounds))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("child: %v\n%s", err, out)
			}
		})
	}
	wg.Wait()
	tok, _ := storetest.MustLoad(t, s, "counter")
	if got, want := storetest.Count(t, tok), procs*rounds; got != want {
		t.Errorf("token count = %d, want %d", got, want)
	}
	if got, want := string(mustRead(t, filepath.Join(dir, "counter.txt"))), strconv.Itoa(procs*rounds); got != want {
		t.Errorf("count in the file the lock guards = %s, want %s", got, want)
	}
}

// crashToken is the token the "save" child stores as its n-th. Its ID token spans
// several database pages, so that a torn write would show.
func crashToken(n int) *pixie.Token {
	tok := storetest.WithCount(storetest.Token(strconv.Itoa(n)), n)
	tok.IDToken = pixie.NewSecret(strings.Repeat(strconv.Itoa(n%10), 10<<10))
	return tok
}

// saveNext replaces the token with the next one, under the lock, and returns its
// number.
func saveNext(ctx context.Context, s *sqlitestore.Store) (int, error) {
	lease, err := s.Lock(ctx, "tok", 200*time.Millisecond)
	if err != nil {
		return 0, err
	}
	defer lease.Unlock(ctx)
	var n float64
	tok, v, err := s.Load(ctx, "tok")
	switch {
	case err == nil:
		n, _ = tok.Extra["count"].(float64)
	case !errors.Is(err, pixie.ErrNotFound):
		return 0, err
	}
	if _, err := s.Save(ctx, "tok", crashToken(int(n)+1), v); err != nil {
		return 0, err
	}
	return int(n) + 1, nil
}

func TestCrash(t *testing.T) {
	const kills = 20
	path := filepath.Join(t.TempDir(), "tokens.db")
	key := newKey(t)
	keys := mustKeySet(t, key)
	var (
		durable  = 0 // the highest token number a child reported saved
		inFlight = 0 // how many kills interrupted a Save that then took effect
	)
	for i := range kills {
		cmd := child(t, "save", path, key)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			for sc := bufio.NewScanner(stdout); sc.Scan(); {
				lines <- sc.Text()
			}
		}()
		// Every fourth child dies early, while it may be opening the store or
		// waiting for the lease its predecessor left; the others at a random
		// point once they have saved a token.
		if i%4 != 0 {
			for _, want := range []string{"ready", strconv.Itoa(durable + 1)} {
				if l := <-lines; l != want {
					t.Fatalf("child %d said %q, want %q; stderr:\n%s", i, l, want, stderr.String())
				}
			}
			durable++
		}
		time.Sleep(rand.N(20 * time.Millisecond))
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for l := range lines {
			if n, err := strconv.Atoi(l); err == nil {
				durable = max(durable, n)
			}
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("child %d ended before it was killed: %v; stderr:\n%s", i, err, stderr.String())
		}

		// The first child may die while it creates the store: then the store
		// may be missing or empty, but not broken.
		s := mustOpen(t, path, sqlitestore.WithKeySet(keys))
		tok, _, err := s.Load(t.Context(), "tok")
		n := 0
		switch {
		case errors.Is(err, pixie.ErrNotFound) && durable == 0:
		case err != nil:
			t.Fatalf("after kill %d: %v", i, err)
		default:
			n = storetest.Count(t, tok)
			storetest.Equal(t, tok, crashToken(n))
		}
		if n < durable || n > durable+1 {
			t.Errorf("after kill %d: token %d stored, want %d (saved) or %d (in flight)", i, n, durable, durable+1)
		}
		if n == durable+1 {
			inFlight++
		}
		durable = n
		s.Close()
	}
	t.Logf("%d kills, %d tokens saved, %d kills during a Save that took effect", kills, durable, inFlight)
}

// child returns a command that runs this test binary as the child named by kind,
// on the store at path with key. It is killed if the test outlives its deadline.
func child(t *testing.T, kind, path string, key seal.Key, env ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+kind, pathEnv+"="+path, seal.EnvVar+"="+key.Reveal())
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}
