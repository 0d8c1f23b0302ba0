package browsertest_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/devserver"
	"github.com/pixieauth/pixie/devserver/devservertest"
	"github.com/pixieauth/pixie/internal/browsertest"
)

// Payloads that would run in the page if the devserver put what a client or a
// request supplies into its HTML unescaped. Each records its origin in
// window.pwned; the client name also retitles the page.
const (
	namePayload     = `Evil <script>document.title="pwned";window.pwned="name"</script><img src=x onerror="window.pwned='name img'"> Co`
	userCodePayload = `"><script>window.pwned="user_code"</script><x y="`
)

// scopePayloads are scope tokens (no space, quote or backslash, as RFC 6749
// section 3.3 allows) that are markup.
var scopePayloads = []string{`<script>window.pwned='scope'</script>`, `<img/src=x/onerror=window.pwned='scope_img'>`}

// TestDevserverPagesInChromium opens the devserver's login, consent and device
// pages in Chromium for a client whose name, and a request whose scope and
// user code, carry markup. Each page must show its form, show the markup as
// text, and run none of it; and a page of another origin must not be able to
// frame the login page (CSP frame-ancestors).
func TestDevserverPagesInChromium(t *testing.T) {
	b := browsertest.New(t)
	ds := devservertest.NewServer(t, devservertest.WithAutoApprove(false))
	evil := devserver.Client{ID: "evil", Name: namePayload, AuthMethod: pixie.AuthNone,
		RedirectURIs: []string{devservertest.RedirectURL}}
	if err := ds.AddClient(evil); err != nil {
		t.Fatal(err)
	}
	callbacks := make(chan url.Values, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case callbacks <- r.URL.Query():
		default:
		}
		fmt.Fprint(w, `<!doctype html><title>client</title><p id="callback">The client got the callback.</p>`)
	}))
	t.Cleanup(app.Close)
	cfg := ds.Config(evil)
	cfg.RedirectURL = app.URL + "/callback"
	scopes := append([]string{"openid", "profile"}, scopePayloads...)
	ar, err := cfg.NewAuthRequest(context.Background(), pixie.Scopes(scopes...))
	if err != nil {
		t.Fatal(err)
	}

	// Framing: a page of another origin cannot show the login page in a frame.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>attacker</title>
<iframe id="victim" src="%s" onload="document.title='framed'"></iframe>`, html.EscapeString(ar.URL))
	}))
	t.Cleanup(attacker.Close)
	b.Step("a page of another origin frames the login page",
		chromedp.Navigate(attacker.URL),
		chromedp.Poll[chromedp.Void](`document.title === "framed"`))
	b.WaitConsole("about frame-ancestors", func(m chromedp.ConsoleMessage) bool {
		return strings.Contains(m.Text, "frame-ancestors 'none'")
	})
	tree := browsertest.Get(b, "the frame tree", func(ctx context.Context, tg *chromedp.Target) (*page.FrameTree, error) {
		r, err := cdp.Call(ctx, tg, page.GetFrameTree, cdp.Empty{})
		return r.FrameTree, err
	})
	if len(tree.ChildFrames) != 1 {
		t.Fatalf("the attacker page has %d frames, want 1", len(tree.ChildFrames))
	}
	if f := tree.ChildFrames[0].Frame; f.UnreachableURL != ar.URL {
		t.Errorf("the framed login page loaded (frame URL %s); want it blocked", f.URL)
	}

	// The login page shows its form and the client's name as text.
	b.Step("login page", chromedp.Navigate(ar.URL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(`#login button[type=submit]`)))
	checkInert(t, b)
	if got := b.Text("strong"); got != namePayload {
		t.Errorf("the login page names the client %q, want the name as text %q", got, namePayload)
	}

	// The consent page shows its buttons, the client's name and the scopes as
	// text, and approving it redirects to the client.
	b.Step("consent page",
		chromedp.SendKeys(chromedp.ID("username"), ds.User.Username),
		chromedp.SendKeys(chromedp.ID("password"), ds.User.Password.Reveal()),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#consent button[value=approve]`)),
		chromedp.WaitVisible(chromedp.CSS(`#consent button[value=deny]`)))
	checkInert(t, b)
	if got := browsertest.Eval[string](b, `document.title`); !strings.Contains(got, namePayload) {
		t.Errorf("the consent page's title is %q, want it to hold the client name as text %q", got, namePayload)
	}
	checkScopes(t, b, scopes)
	b.Step("approve", chromedp.Click(chromedp.CSS(`#consent button[value=approve]`)),
		chromedp.WaitVisible(chromedp.ID("callback")))
	q := receive(t, callbacks)
	if q.Get("code") == "" || q.Get("state") != ar.State {
		t.Errorf("the client's callback got %v, want a code and state %s", q, ar.State)
	}

	// The device page shows the client's name and scopes as text for a known code,
	// and an unknown code that is markup as the field's value.
	da, err := cfg.DeviceAuth(context.Background(), pixie.Scopes(scopes...))
	if err != nil {
		t.Fatal(err)
	}
	b.Step("device page for the client's code",
		chromedp.Navigate(ds.URL+"/device?user_code="+url.QueryEscape(da.UserCode)),
		chromedp.WaitVisible(chromedp.ID("user_code")),
		chromedp.WaitVisible(chromedp.CSS(`#device button[value=approve]`)))
	checkInert(t, b)
	if got := b.Text("p strong"); got != namePayload {
		t.Errorf("the device page names the client %q, want the name as text %q", got, namePayload)
	}
	checkScopes(t, b, scopes)
	if got := browsertest.Get(b, "the user code field", chromedp.Value(chromedp.ID("user_code"))); got != da.UserCode {
		t.Errorf("the user code field holds %q, want %q", got, da.UserCode)
	}
	b.Step("device approved", chromedp.Click(chromedp.CSS(`#device button[value=approve]`)),
		chromedp.WaitVisible(chromedp.ID("done")))

	b.Step("device page for a user code that is markup",
		chromedp.Navigate(ds.URL+"/device?user_code="+url.QueryEscape(userCodePayload)),
		chromedp.WaitVisible(chromedp.ID("user_code")))
	checkInert(t, b)
	if got := browsertest.Get(b, "the user code field", chromedp.Value(chromedp.ID("user_code"))); got != userCodePayload {
		t.Errorf("the user code field holds %q, want the parameter as typed %q", got, userCodePayload)
	}

	// The pages' CSP would block an injected inline script or handler even if
	// escaping failed; its report would show that something was injected.
	for _, m := range b.Console() {
		if strings.Contains(m.Text, "Content Security Policy") && !strings.Contains(m.Text, "frame-ancestors") {
			t.Errorf("the browser blocked something a page carried: %s", m)
		}
	}
}

// checkInert checks that nothing a payload carried became part of the page: the
// devserver's pages have no script or image of their own, no payload ran, and
// the title is the server's.
func checkInert(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	if n := browsertest.Eval[int](b, `document.querySelectorAll("script, img").length`); n != 0 {
		t.Errorf("the page at %s has %d script or img elements; a payload became markup", b.URL(), n)
	}
	if pwned := browsertest.Eval[string](b, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("the %s payload ran on the page at %s", pwned, b.URL())
	}
	if title := browsertest.Eval[string](b, `document.title`); title == "pwned" {
		t.Errorf("a payload retitled the page at %s", b.URL())
	}
}

// checkScopes checks that the page lists the requested scopes as text.
func checkScopes(t *testing.T, b *browsertest.Browser, want []string) {
	t.Helper()
	got := browsertest.Eval[[]string](b, `[...document.querySelectorAll("li code")].map(e => e.textContent)`)
	if !slices.Equal(got, want) {
		t.Errorf("the page lists the scopes %q, want them as text %q", got, want)
	}
}

// receive returns the next value from ch, failing the test if none comes
// within the browser's step timeout.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browsertest.StepTimeout)
	defer cancel()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		t.Fatalf("nothing received within %v", browsertest.StepTimeout)
		var zero T
		return zero
	}
}
