// Package browsertest runs end-to-end tests in a real headless Chromium, driven
// from Go with chromedp: each test gets its own browser process with a fresh
// profile, and every step of the test leaves a screenshot behind.
//
// The browser is Debian's chromium package at [ChromiumPath] (or "chromium" on
// PATH). When it is missing the test is skipped, except under CI=true, where a
// missing browser fails the test (see package testenv): CI must not pass by
// testing nothing.
//
// Screenshots go to the test's temporary directory, which the testing package
// removes when the test ends; set PIXIE_TEST_SCREENSHOTS to a directory to keep
// them (one subdirectory per test). A failing step logs where they are.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pixieauth/pixie/internal/testenv"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// StepTimeout bounds one step, so that a page that never shows what a test
// waits for fails the test instead of hanging it.
const StepTimeout = 20 * time.Second

// ScreenshotsEnv names the environment variable that keeps screenshots in a
// directory of one's choosing instead of the test's temporary directory.
const ScreenshotsEnv = "PIXIE_TEST_SCREENSHOTS"

// Browser is one headless Chromium with one tab, for one test. Its methods fail
// the test on error; they are not safe for concurrent use.
type Browser struct {
	tb    testing.TB
	ctx   context.Context
	shots string // the screenshot directory
	step  int

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	more    chan struct{} // closed and replaced when a console message arrives
}

// New starts a headless Chromium for tb with a fresh profile in tb's temporary
// directory, and stops it when the test ends. It skips the test when Chromium
// is not installed, or fails it when CI=true.
func New(tb testing.TB) *Browser {
	tb.Helper()
	path, err := findChromium()
	if err != nil {
		testenv.Missing(tb, "browsertest: "+err.Error())
	}
	b := &Browser{tb: tb, shots: screenshotDir(tb), more: make(chan struct{})}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(tb.TempDir(), "profile")),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// No traffic of the browser's own: the tests must see only their
		// requests, and the machine may have no network.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1000, 800),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
		if tb.Failed() {
			tb.Logf("browsertest: screenshots of each step are in %s", b.shots)
		}
	})
	b.ctx = ctx
	// The first action starts the browser; it must run on the tab's own
	// context, since ending the context of the first action ends the browser.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("browsertest: starting %s: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			close(b.more)
			b.more = make(chan struct{})
			b.mu.Unlock()
		}
	}()
	return b
}

// findChromium returns the path of the Chromium binary.
func findChromium() (string, error) {
	if _, err := os.Stat(ChromiumPath); err == nil {
		return ChromiumPath, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium is not installed at %s or on PATH (Debian/Ubuntu: apt-get install chromium)", ChromiumPath)
}

// screenshotDir makes the directory for tb's screenshots.
func screenshotDir(tb testing.TB) string {
	tb.Helper()
	root := os.Getenv(ScreenshotsEnv)
	if root == "" {
		return tb.TempDir()
	}
	dir := filepath.Join(root, slug(tb.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("browsertest: %s: %v", ScreenshotsEnv, err)
	}
	return dir
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// slug turns a step or test name into a file name.
func slug(name string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// Context returns the tab's context, for chromedp calls the methods do not
// cover. A call on it has no timeout.
func (b *Browser) Context() context.Context { return b.ctx }

// ScreenshotDir returns the directory the step screenshots are saved in.
func (b *Browser) ScreenshotDir() string { return b.shots }

// Step runs actions as the test's next step, within [StepTimeout], and saves a
// screenshot of the page afterwards as NN-name.png. If an action fails, the
// test fails, with the page's URL, after a screenshot of the page as the
// failure left it.
func (b *Browser) Step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	b.step++
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	err := chromedp.Do(ctx, actions...)
	b.screenshot(name)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("not done within %v: %w", StepTimeout, err)
		}
		b.tb.Fatalf("browsertest: step %d %q at %s: %v", b.step, name, b.URL(), err)
	}
}

// screenshot saves the page as it is now; a page that cannot be captured is
// logged, not failed, since the screenshot only documents the test.
func (b *Browser) screenshot(name string) {
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.step, slug(name))), png, 0o644)
	}
	if err != nil {
		b.tb.Logf("browsertest: no screenshot of step %d %q: %v", b.step, name, err)
	}
}

// Get runs one action that returns a value, within [StepTimeout], and returns
// its value. It fails the test if the action fails.
func Get[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.tb.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.tb.Fatalf("browsertest: reading %s at %s: %v", what, b.URL(), err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and returns its value
// decoded as T.
func Eval[T any](b *Browser, expr string) T {
	b.tb.Helper()
	return Get(b, expr, chromedp.Evaluate[T](expr))
}

// Text returns the visible text of the first element matching the CSS selector,
// waiting for it to be visible.
func (b *Browser) Text(selector string) string {
	b.tb.Helper()
	return Get(b, "the text of "+selector, chromedp.Text(chromedp.CSS(selector), chromedp.NodeVisible))
}

// URL returns the address of the page, or a note saying why it is unknown.
func (b *Browser) URL() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown page: " + err.Error() + ")"
	}
	return u
}

// Console returns the messages the pages wrote to the console so far: calls of
// the console API, uncaught exceptions and the browser's own log entries, such
// as a Content-Security-Policy violation.
func (b *Browser) Console() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console...)
}

// WaitConsole waits, at most [StepTimeout], for a console message that match
// accepts, and returns it. It fails the test, listing the messages seen, if
// none comes.
func (b *Browser) WaitConsole(what string, match func(chromedp.ConsoleMessage) bool) chromedp.ConsoleMessage {
	b.tb.Helper()
	timeout := time.NewTimer(StepTimeout)
	defer timeout.Stop()
	for seen := 0; ; {
		b.mu.Lock()
		msgs, more := b.console[seen:], b.more
		seen = len(b.console)
		b.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		select {
		case <-more:
		case <-timeout.C:
			b.tb.Fatalf("browsertest: no console message %s within %v; the console had %q", what, StepTimeout, b.Console())
		}
	}
}
