package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pixieauth/pixie"
)

// configFile is the name of the profiles file in pixie's home.
const configFile = "config.yaml"

// fileConfig is the content of config.yaml.
type fileConfig struct {
	Profiles map[string]Settings `yaml:"profiles"`
}

// home returns pixie's directory: $PIXIE_HOME, else $XDG_CONFIG_HOME/pixie,
// else ~/.config/pixie.
func (a *app) home() (string, error) {
	if h := a.getenv("PIXIE_HOME"); h != "" {
		return h, nil
	}
	// The XDG Base Directory specification says to ignore a relative path.
	if x := a.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "pixie"), nil
	}
	h := a.getenv("HOME")
	if h == "" {
		return "", errors.New("no home directory: set PIXIE_HOME")
	}
	return filepath.Join(h, ".config", "pixie"), nil
}

// loadConfig reads config.yaml; a missing file is an empty configuration.
func (a *app) loadConfig() (*fileConfig, string, error) {
	dir, err := a.home()
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, configFile)
	c := &fileConfig{Profiles: map[string]Settings{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, path, nil
	}
	if err != nil {
		return nil, path, err
	}
	if err := yaml.Unmarshal(b, c); err != nil {
		return nil, path, fmt.Errorf("%s is not a valid pixie configuration: %s\nFix it, or move it away and log in again.", path, yamlTypes.Replace(err.Error()))
	}
	if c.Profiles == nil {
		c.Profiles = map[string]Settings{}
	}
	return c, path, nil
}

// yamlTypes names, in YAML decoding errors, the parts of config.yaml instead of
// the Go types behind them.
var yamlTypes = strings.NewReplacer(
	"map[string]cli.Settings", "a map of profiles",
	"cli.fileConfig", "a map with profiles",
	"cli.Settings", "a profile",
)

// saveConfig writes config.yaml atomically, in a 0700 directory, mode 0600.
func saveConfig(path string, c *fileConfig) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// profileSettings returns the selected profile's settings and whether it exists.
func (a *app) profileSettings() (Settings, bool, error) {
	c, _, err := a.loadConfig()
	if err != nil {
		return Settings{}, false, err
	}
	s, ok := c.Profiles[a.profileName()]
	return s, ok, nil
}

// configLock is the store lock that serializes changes to config.yaml; no
// token is stored under it, as profile names have no ':'.
const configLock = ":config.yaml"

// saveProfile stores s as the selected profile. The read, change and write of
// config.yaml hold st's lock, so that logins run at once, by parallel jobs
// sharing a home, keep each other's profiles.
func (a *app) saveProfile(ctx context.Context, st pixie.Store, s Settings) error {
	lease, err := st.Lock(ctx, configLock, 10*time.Second)
	if err != nil {
		return fmt.Errorf("save profile %q: %w", a.profileName(), err)
	}
	defer lease.Unlock(context.WithoutCancel(ctx))
	c, path, err := a.loadConfig()
	if err != nil {
		return err
	}
	c.Profiles[a.profileName()] = s
	if err := saveConfig(path, c); err != nil {
		return fmt.Errorf("save profile %q: %w", a.profileName(), err)
	}
	return nil
}
