package cli

import "net/url"

// HostProfileName is hostProfileName.
var HostProfileName = hostProfileName

// ShellWord is shellWord.
var ShellWord = shellWord

// ResourceProfileName returns the profile a login to resource would use
// among profiles, given as name and resource.
func ResourceProfileName(profiles map[string]string, resource string) string {
	return resourceProfileName(resourceConfig(profiles), resource)
}

// ResourceProfileFor returns the profile pixie curl picks for u among
// profiles, given as name and resource, and whether one covers u.
func ResourceProfileFor(profiles map[string]string, u *url.URL) (string, bool) {
	return resourceProfileFor(resourceConfig(profiles), u)
}

func resourceConfig(profiles map[string]string) *fileConfig {
	c := &fileConfig{Profiles: map[string]Settings{}}
	for name, r := range profiles {
		c.Profiles[name] = Settings{Resource: r, Issuer: "https://id.example.com"}
	}
	return c
}
