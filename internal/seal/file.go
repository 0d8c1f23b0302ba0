package seal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrInsecureKeyFile means an existing key file can be read or written by users other
// than its owner. The key in it must be treated as leaked; pixie refuses to use it
// until the mode is fixed (chmod 600) or the key is replaced.
var ErrInsecureKeyFile = errors.New("key file is accessible to other users")

// maxKeyFile bounds what [FromFile] reads: a key file holds a few keys of 44
// characters each.
const maxKeyFile = 64 << 10

// FromFile reads keys from the key file at path, in the format of [ParseKeySet]
// (one key per line, the current key first). A missing file is an error wrapping
// both [ErrNoKey] and fs.ErrNotExist. On Unix, a file whose mode grants any access
// to group or others is refused with [ErrInsecureKeyFile] and the chmod command
// that fixes it.
func FromFile(path string) (*KeySet, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seal: %w: key file %s: %w", ErrNoKey, path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: key file %s is not a regular file (mode %s)", path, fi.Mode())
	}
	// Windows has no Unix permission bits; its files report 0666 whatever their ACL.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("seal: %w: %s has mode %04o; run `chmod 600 %s` (and replace the key if others may have read it)",
			ErrInsecureKeyFile, path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("seal: key file %s is larger than %d bytes; it is not a key file", path, maxKeyFile)
	}
	ks, err := parseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	return ks, nil
}

// LoadOrCreateFile reads the key file at path like [FromFile] or, if there is
// none, creates it with a new random key and reports created. The directory is
// created with mode 0700 if missing; the file gets mode 0600.
//
// Creation is atomic and never replaces a key: the key is written and synced to a
// temporary file in the same directory, which is then hard-linked to path. A link
// fails if path already exists, so when several goroutines or processes race, one
// key wins and every caller returns it. (A rename would silently replace a key
// another caller had already started using.) The file system must support hard
// links, as every Unix file system and NTFS do.
func LoadOrCreateFile(path string) (ks *KeySet, created bool, err error) {
	ks, err = FromFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return ks, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("seal: key file directory: %w", err)
	}
	key, err := GenerateKey()
	if err != nil {
		return nil, false, err
	}
	tmp, err := writeTemp(dir, filepath.Base(path), key.Reveal()+"\n")
	if err != nil {
		return nil, false, fmt.Errorf("seal: create key file %s: %w", path, err)
	}
	defer os.Remove(tmp)
	switch err := os.Link(tmp, path); {
	case errors.Is(err, fs.ErrExist):
		// Another caller created the file first: use its key.
		ks, err := FromFile(path)
		return ks, false, err
	case err != nil:
		return nil, false, fmt.Errorf("seal: create key file %s: %w", path, err)
	}
	syncDir(dir)
	ks, err = NewKeySet(key)
	return ks, true, err
}

// writeTemp writes content to a new 0600 file in dir, syncs it and returns its
// name.
func writeTemp(dir, base, content string) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp-*") // CreateTemp uses mode 0600
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes a new directory entry durable where the platform allows it. It is
// best effort: the key is already safe in its synced file, and some platforms
// cannot sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
