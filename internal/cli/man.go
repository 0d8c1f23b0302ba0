package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func newManCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write pixie's manual pages into a directory",
		Long: `Write a manual page (section 1, troff) for pixie and each of its commands
into DIR, created if needed: pixie.1, pixie-login.1, pixie-token.1 and so on.
Install them with, for example:
  pixie man ~/.local/share/man/man1`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{Title: "PIXIE", Section: "1", Source: "pixie", Manual: "pixie manual"}
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			fmt.Fprintf(a.stderr, "Wrote the manual pages into %s.\n", dir)
			return nil
		},
	}
}
