package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pixieauth/pixie"
)

// readPasted lets the user of pixie login --no-browser, whose browser runs on
// another machine and so cannot reach the loopback listener, paste the URL
// the browser was redirected to on stdin. Like the listener, it takes only an
// answer that carries the login's state (RFC 6749 section 10.12): a bare code,
// or a URL with another state, could be anyone's, so it is refused and the
// login keeps waiting for the listener or another paste. Whichever of the
// listener and the paste brings the answer first wins. It prompts, then reads
// in the background until the end of stdin or an answer is taken.
func (a *loginOptions) readPasted(cb *callbackHandler) {
	// The prompt is written before the login goes on, so it never follows
	// what the login writes when it ends.
	fmt.Fprintln(a.stderr, "Waiting for the browser. If it runs on another machine, log in there, then paste here the URL it was sent to (the address of its error page for 127.0.0.1):")
	go a.readPastes(cb)
}

// readPastes is readPasted's reading loop.
func (a *loginOptions) readPastes(cb *callbackHandler) {
	sc := bufio.NewScanner(a.stdin)
	sc.Buffer(nil, 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		query, err := pastedQuery(line)
		if err != nil {
			fmt.Fprintf(a.stderr, "pixie: %s; still waiting.\n", err)
			continue
		}
		code, err := cb.ar.ParseCallback(query)
		if errors.Is(err, pixie.ErrStateMismatch) {
			fmt.Fprintln(a.stderr, "pixie: the pasted URL does not carry this login's state, so it does not answer this login: ignored; still waiting.")
			continue
		}
		taken := false
		cb.claim.Do(func() { taken = true })
		if taken {
			cb.got <- callbackResult{code, err}
		}
		return
	}
}

// pastedQuery returns the query of a pasted redirect URL. A bare code is
// refused: without the state beside it nothing shows it answers this login.
func pastedQuery(line string) (url.Values, error) {
	u, err := url.Parse(line)
	if err != nil || u.RawQuery == "" {
		return nil, errors.New("paste the whole URL from the browser's address bar, starting with http://127.0.0.1: a code alone cannot be checked against this login's state")
	}
	return u.Query(), nil
}
