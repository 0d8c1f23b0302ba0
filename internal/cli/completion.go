package cli

import (
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// completeProfiles completes --profile with the names of the profiles in
// config.yaml. A configuration that cannot be read completes nothing: shell
// completion has no place to say why.
func (a *app) completeProfiles(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	c, _, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := slices.DeleteFunc(slices.Sorted(maps.Keys(c.Profiles)), func(n string) bool { return !strings.HasPrefix(n, prefix) })
	return names, cobra.ShellCompDirectiveNoFileComp
}
