// Package rotest makes a directory read-only for a test, as a read-only mount
// or a home without write permission is for pixie's users.
package rotest

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir makes dir and everything under it read-only until the test ends. A
// process without root privileges gets no write permission (chmod a-w); root,
// whom permissions do not stop, gets a read-only bind mount of dir (Linux). The
// test is skipped where neither works, such as on Windows.
func Dir(tb testing.TB, dir string) {
	tb.Helper()
	if runtime.GOOS == "windows" {
		tb.Skip("no read-only directories on Windows")
	}
	if os.Geteuid() == 0 {
		bindReadOnly(tb, dir)
		return
	}
	var modes []func()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		modes = append(modes, func() { os.Chmod(p, mode) })
		return os.Chmod(p, mode&^0o222)
	})
	tb.Cleanup(func() {
		for _, restore := range modes {
			restore()
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// bindReadOnly mounts dir read-only over itself, and unmounts it when the test
// ends.
func bindReadOnly(tb testing.TB, dir string) {
	tb.Helper()
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		tb.Skipf("running as root and cannot bind-mount %s read-only: %v: %s", dir, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	if out, err := exec.Command("mount", "-o", "remount,ro,bind", dir).CombinedOutput(); err != nil {
		tb.Skipf("running as root and cannot remount %s read-only: %v: %s", dir, err, out)
	}
}
