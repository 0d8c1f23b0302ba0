package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// readBuildInfo is runtime/debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

// versionText describes this build of pixie: the module version (or "(devel)"
// for a build from a checkout), the commit and its time when the Go toolchain
// stamped them, whether the tree had uncommitted changes, and the Go version.
func versionText() string {
	bi, ok := readBuildInfo()
	if !ok {
		return "unknown (built without module support)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var commit, when, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	var b strings.Builder
	b.WriteString(version)
	if commit != "" {
		fmt.Fprintf(&b, " (commit %s", commit)
		if when != "" {
			fmt.Fprintf(&b, " of %s", when)
		}
		b.WriteString(modified + ")")
	}
	fmt.Fprintf(&b, ", built with %s", bi.GoVersion)
	return b.String()
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pixie's version, commit and Go version",
		Long: `Print the version of the pixie module this binary was built from, the
commit and its time when the build recorded them, and the Go version; the same
as pixie --version.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(a.stdout, "pixie version %s\n", versionText())
			return err
		},
	}
}
