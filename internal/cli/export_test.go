package cli

// Internals the tests of package cli_test reach.

// TerminalText is terminalText.
var TerminalText = terminalText

// TerminalLine is terminalLine.
var TerminalLine = terminalLine

// OpenBrowser calls openBrowser with $BROWSER set to browser.
func OpenBrowser(browser, u string, allowInsecure bool) error {
	a := &app{getenv: func(k string) string {
		if k == "BROWSER" {
			return browser
		}
		return ""
	}}
	return a.openBrowser(u, allowInsecure)
}
