package cli

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text that a server chose (an error_description, a user name, a claim, a
// verification URI) must not drive the user's terminal. A terminal acts on
// control characters: ESC starts CSI sequences, which move the cursor, erase
// lines and recolour, and OSC sequences, which set the window title or write
// the clipboard; a carriage return goes back to the start of the line, so that
// what follows overwrites what came before ("Logged in" over an error); the C1
// controls (U+0080 to U+009F) act as ESC sequences on some terminals. pixie
// shows such characters as visible escapes instead, at the boundaries where
// text reaches the terminal.

// terminalText returns s with every control character except newline and tab
// written as a Go escape (\r, \x1b, \u009b), and every byte that is not UTF-8
// as \xNN. It is for messages, which may span lines.
func terminalText(s string) string {
	return escapeRunes(s, isControlNotSpace, goEscape)
}

// terminalLine is [terminalText] for a value shown within a line: newlines
// and tabs are escaped too, so the value cannot start a line of its own.
func terminalLine(s string) string {
	return escapeRunes(s, unicode.IsControl, goEscape)
}

// jsonTerminalSafe escapes, in the output of encoding/json, the control
// characters it leaves raw: DEL and the C1 controls. Those occur only inside
// strings, where \u escapes decode to the same characters, so the JSON keeps
// its meaning; newlines and tabs occur only between values, as indentation.
func jsonTerminalSafe(b []byte) []byte {
	return []byte(escapeRunes(string(b), isControlNotSpace, func(r rune) string { return fmt.Sprintf(`\u%04x`, r) }))
}

// isControlNotSpace reports whether r is a control character other than
// newline and tab.
func isControlNotSpace(r rune) bool {
	return r != '\n' && r != '\t' && unicode.IsControl(r)
}

// goEscape writes r as Go would in a quoted rune: \r, \x1b, \u009b.
func goEscape(r rune) string {
	q := strconv.QuoteRune(r)
	return q[1 : len(q)-1]
}

// escapeRunes replaces the runes of s for which escape is true with esc(r),
// and every byte of invalid UTF-8 with \xNN.
func escapeRunes(s string, escape func(rune) bool, esc func(rune) string) string {
	bad := func(r rune) bool { return r == utf8.RuneError || escape(r) }
	if strings.IndexFunc(s, bad) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case escape(r):
			b.WriteString(esc(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
