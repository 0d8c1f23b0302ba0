package redisstore_test

import (
	"context"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixieauth/pixie/internal/testenv"
)

// redisServer is a redis-server of one test's own, which the test may crash,
// restart and pause without disturbing the shared test Redis. It persists every
// write before acknowledging it (appendonly yes, appendfsync always), as a
// token store should run.
type redisServer struct {
	addr string
	dir  string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server on a free loopback port, stopped when the
// test ends. It skips the test (fails under CI=true) without redis-server.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Missing(t, "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &redisServer{addr: l.Addr().String(), dir: t.TempDir()}
	l.Close()
	r.start(t)
	t.Cleanup(func() { r.crash(t) })
	return r
}

// start runs the server on r's port and directory, and waits until it answers.
func (r *redisServer) start(t *testing.T) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", "redis.log")
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer within 10s", r.addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crash kills the server with SIGKILL, as a crash or power loss would stop it.
func (r *redisServer) crash(t *testing.T) {
	t.Helper()
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
}

// restart crashes the server and starts it again from its files.
func (r *redisServer) restart(t *testing.T) {
	t.Helper()
	r.crash(t)
	r.start(t)
}

// pause stops the server (SIGSTOP) until resume: it accepts connections and
// commands into its buffers, but answers nothing.
func (r *redisServer) pause(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.resume(t) })
}

func (r *redisServer) resume(t *testing.T) {
	t.Helper()
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Signal(syscall.SIGCONT)
	}
}
