package devserver

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Browser plays a user's browser against a devserver's pages, following the form
// contract documented in the devserver package: it follows redirects within the
// server, fills the login form, answers the consent form, and stops at the first
// redirect that leaves the server, the client's callback, which it does not follow.
// It keeps cookies, so a session survives between calls, and sends an Origin
// header with each form it posts, as a browser does.
type Browser struct {
	// Username and Password fill the login forms.
	Username, Password string
	// Deny answers consent and device forms with "deny" instead of "approve".
	Deny bool

	client *http.Client
}

// NewBrowser returns a Browser that logs in with the given credentials and sends
// its requests through base's transport (http.DefaultTransport when nil).
func NewBrowser(base *http.Client, username, password string) *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	var rt http.RoundTripper
	if base != nil {
		rt = base.Transport
	}
	return &Browser{Username: username, Password: password, client: &http.Client{
		Transport:     rt,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// maxSteps bounds the pages one authorization may go through.
const maxSteps = 10

// Authorize follows authURL through the login and consent pages and returns the
// redirect to the client.
func (b *Browser) Authorize(ctx context.Context, authURL string) (*url.URL, error) {
	start, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("authorization URL: %w", err)
	}
	resp, err := b.do(ctx, http.MethodGet, authURL, nil)
	for step := 0; err == nil && step < maxSteps; step++ {
		var body string
		body, err = readPage(resp)
		if err != nil {
			break
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			next, perr := resp.Request.URL.Parse(loc)
			if perr != nil {
				return nil, fmt.Errorf("redirect to an invalid URL: %w", perr)
			}
			if next.Host != start.Host {
				return next, nil
			}
			resp, err = b.do(ctx, http.MethodGet, next.String(), nil)
			continue
		}
		f, ferr := pageForm(resp, body)
		if ferr != nil {
			return nil, ferr
		}
		switch f.id {
		case "login":
			f.values.Set("username", b.Username)
			f.values.Set("password", b.Password)
		case "consent":
			f.values.Set("action", b.decision())
		default:
			return nil, fmt.Errorf("unexpected form %q on %s", f.id, resp.Request.URL.Path)
		}
		resp, err = b.do(ctx, http.MethodPost, f.action, f.values)
	}
	if err != nil {
		return nil, err
	}
	return nil, errors.New("no redirect to the client after the login and consent pages")
}

// Device opens the verification page at verificationURI, enters userCode, logs
// in if needed, and approves (or denies, with Deny).
func (b *Browser) Device(ctx context.Context, verificationURI, userCode string) error {
	resp, err := b.do(ctx, http.MethodGet, verificationURI, nil)
	if err != nil {
		return err
	}
	body, err := readPage(resp)
	if err != nil {
		return err
	}
	f, err := pageForm(resp, body)
	if err != nil {
		return err
	}
	f.values.Set("user_code", userCode)
	f.values.Set("action", b.decision())
	if strings.Contains(body, `name="password"`) {
		f.values.Set("username", b.Username)
		f.values.Set("password", b.Password)
	}
	if resp, err = b.do(ctx, http.MethodPost, f.action, f.values); err != nil {
		return err
	}
	if body, err = readPage(resp); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="done"`) {
		return fmt.Errorf("device verification failed (HTTP %d): %s", resp.StatusCode, pageError(body))
	}
	return nil
}

func (b *Browser) decision() string {
	if b.Deny {
		return "deny"
	}
	return "approve"
}

func (b *Browser) do(ctx context.Context, method, target string, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// As a browser does: the form's action is on the page's own server.
		req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	}
	return b.client.Do(req)
}

func readPage(resp *http.Response) (string, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b), err
}

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]*)" id="([a-z]+)">`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	errorRE  = regexp.MustCompile(`<p class="error" id="error">([^<]*)</p>`)
)

type htmlForm struct {
	id, action string
	values     url.Values
}

// pageForm finds the page's form and its hidden fields.
func pageForm(resp *http.Response, body string) (*htmlForm, error) {
	m := formRE.FindStringSubmatch(body)
	if m == nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d without the expected form: %s", resp.Request.URL.Path, resp.StatusCode, pageError(body))
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return nil, fmt.Errorf("form action: %w", err)
	}
	f := &htmlForm{id: m[2], action: action.String(), values: url.Values{}}
	for _, h := range hiddenRE.FindAllStringSubmatch(body, -1) {
		f.values.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return f, nil
}

// pageError extracts the error message a page shows.
func pageError(body string) string {
	if m := errorRE.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return "no error message on the page"
}
