package cli_test

import (
	"os/exec"
	"testing"

	"github.com/pixieauth/pixie/internal/cli"
)

// TestEnvQuoting checks that each shell pixie env writes for, run for real,
// sets the variable to exactly the value, whatever characters it holds. A
// shell that is not installed is skipped (sh always is).
func TestEnvQuoting(t *testing.T) {
	values := []string{
		"eyJhbGciOi.plain-token_value",
		"it's",
		`a'b"c\d\\e$HOME` + "`id`$(id)",
		"'''",
		`\'`,
		"two\nlines and a tab\t!",
		"typographic ‘quotes’ ‚and‛ “more”",
		"",
	}
	// posix runs the line, then prints the variable, in a POSIX shell.
	posix := func(s string) []string { return []string{"-c", s + "\nprintf '%s' \"$PIXIE_ACCESS_TOKEN\""} }
	shells := []struct {
		shell, program string
		args           func(script string) []string
	}{
		{"sh", "sh", posix},
		{"sh", "bash", posix},
		{"sh", "zsh", posix},
		{"fish", "fish", func(s string) []string { return append([]string{"--no-config"}, posix(s)...) }},
		{"powershell", "pwsh", func(s string) []string {
			return []string{"-NoProfile", "-Command", s + "\n[Console]::Out.Write($env:PIXIE_ACCESS_TOKEN)"}
		}},
	}
	for _, sh := range shells {
		t.Run(sh.program, func(t *testing.T) {
			if _, err := exec.LookPath(sh.program); err != nil {
				t.Skipf("%s is not installed", sh.program)
			}
			for _, v := range values {
				line := cli.EnvExport(sh.shell, "PIXIE_ACCESS_TOKEN", v)
				out, err := exec.Command(sh.program, sh.args(line)...).CombinedOutput()
				if err != nil {
					t.Fatalf("%s on %q: %v\n%s", sh.program, line, err, out)
				}
				if got := string(out); got != v {
					t.Errorf("%s set %q for %q, want %q", sh.program, got, line, v)
				}
			}
		})
	}
}
