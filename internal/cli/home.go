package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pixieauth/pixie/sqlitestore"
)

// configFile is the name of the profiles file in pixie's home.
const configFile = "config.yaml"

// fileConfig is the content of config.yaml.
type fileConfig struct {
	Profiles map[string]Settings `yaml:"profiles"`
	// Hosts maps a host (with its port, if any) to the profile whose token
	// the git and docker credential helpers give it.
	Hosts map[string]string `yaml:"hosts,omitempty"`
}

// home returns pixie's directory: $PIXIE_HOME, else $XDG_CONFIG_HOME/pixie,
// else ~/.config/pixie.
func (a *app) home() (string, error) {
	if h := a.getenv("PIXIE_HOME"); h != "" {
		// A relative home would be another home in every directory: the
		// tokens of one would be missing in the next.
		if !filepath.IsAbs(h) {
			abs, _ := filepath.Abs(h)
			return "", usagef("PIXIE_HOME %q is a relative path: set it to an absolute one, such as %s", h, abs)
		}
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
	var doc yaml.Node
	err = yaml.Unmarshal(b, &doc)
	if err == nil && len(doc.Content) > 0 {
		if err = checkKeys(doc.Content[0]); err == nil {
			err = doc.Decode(c)
		}
	}
	if err != nil {
		return nil, path, fmt.Errorf("%s is not a valid pixie configuration: %s\nFix it, or move it away and log in again", path, yamlTypes.Replace(err.Error()))
	}
	if c.Profiles == nil {
		c.Profiles = map[string]Settings{}
	}
	for name, s := range c.Profiles {
		s.origin = fmt.Sprintf("%s: profile %q", path, name)
		c.Profiles[name] = s
	}
	return c, path, nil
}

// settingsKeys are the keys a profile may have in config.yaml.
var settingsKeys = yamlKeys(reflect.TypeFor[Settings]())

// yamlKeys returns the YAML names of the exported fields of struct type t.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); f.IsExported() && name != "-" {
			keys = append(keys, cmp.Or(name, strings.ToLower(f.Name)))
		}
	}
	return keys
}

// checkKeys refuses, in the mapping of config.yaml, keys pixie does not know:
// a misspelt setting would otherwise be ignored without a word. The error
// gives the line and the nearest known key. What is not a mapping is left to
// the decoder to report.
func checkKeys(top *yaml.Node) error {
	if top.Kind != yaml.MappingNode {
		return nil
	}
	if err := unknownKey(top, []string{"profiles", "hosts"}, "at the top level"); err != nil {
		return err
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "profiles" || top.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		profiles := top.Content[i+1]
		for j := 0; j+1 < len(profiles.Content); j += 2 {
			if p := profiles.Content[j+1]; p.Kind == yaml.MappingNode {
				if err := unknownKey(p, settingsKeys, fmt.Sprintf("in profile %q", profiles.Content[j].Value)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// unknownKey returns an error for the first key of mapping m not in known.
func unknownKey(m *yaml.Node, known []string, where string) error {
	for i := 0; i < len(m.Content); i += 2 {
		k := m.Content[i]
		if slices.Contains(known, k.Value) {
			continue
		}
		near := slices.MinFunc(known, func(a, b string) int { return cmp.Compare(editDistance(k.Value, a), editDistance(k.Value, b)) })
		hint := "; the keys are " + strings.Join(known, ", ")
		// A suggestion is worth making only for a near miss, such as a
		// typo or a flag's spelling (client-id for client_id).
		if editDistance(k.Value, near) <= max(2, len(k.Value)/3) {
			hint = fmt.Sprintf("; did you mean %q?", near)
		}
		return fmt.Errorf("line %d: unknown key %q %s%s", k.Line, k.Value, where, hint)
	}
	return nil
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			prev, row[j] = row[j], min(row[j]+1, row[j-1]+1, prev+cost)
		}
	}
	return row[len(b)]
}

// yamlTypes names, in YAML decoding errors, the parts of config.yaml instead of
// the Go types behind them.
var yamlTypes = strings.NewReplacer(
	"map[string]cli.Settings", "a map of profiles",
	"cli.fileConfig", "a map with profiles",
	"cli.Settings", "a profile",
	" into []string", " into a list of text values",
	" into map[string]string", " into a map of names to text values",
	" into bool", " into true or false",
	" into string", " into a text value",
	"!!map", "a map",
	"!!seq", "a list",
	"!!str", "the text",
	"!!int", "the number",
	"!!float", "the number",
	"!!bool", "the value",
	"!!null", "nothing",
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

// saveProfile stores s as the selected profile, for a login about to store the
// profile's new token. The read, change and write of config.yaml hold st's
// lock, so that logins run at once, by parallel jobs sharing a home, keep each
// other's profiles. A token of the profile that no configured key opens is
// deleted first (see [app.replaceUnopenable]): storing the new token reads the
// old one's version, which would fail on it.
func (a *app) saveProfile(ctx context.Context, st *sqlitestore.Store, s Settings) error {
	if err := a.replaceUnopenable(ctx, st, a.profileName()); err != nil {
		return err
	}
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
