package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds each request when the caller gives no HTTP client.
const DefaultTimeout = 30 * time.Second

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// Client sends form POSTs to an authorization server's endpoints. The zero value
// is usable. A Client is safe for concurrent use.
type Client struct {
	// HTTP sends the requests; nil means a client with DefaultTimeout.
	HTTP *http.Client
	// Header is added to every request (provider quirks such as User-Agent).
	Header http.Header
	// AllowInsecure permits http:// URLs on non-loopback hosts.
	AllowInsecure bool
	// Retry bounds retries of temporary failures.
	Retry Retry
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits between attempts; nil waits on a timer, ending early when ctx
	// is done. Tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one debug record per attempt; nil discards them.
	Logger *slog.Logger
}

// Retry bounds retries: see pixie.RetryPolicy, whose zero values mean the same.
type Retry struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxWait     time.Duration
}

// Request is one form POST to an endpoint.
type Request struct {
	// Op names the exchange in errors and logs: "token", "revocation", ...
	Op string
	// URL is the endpoint.
	URL string
	// Form holds the request's parameters, without client credentials.
	Form url.Values
	// Auth authenticates the client.
	Auth Auth
	// Header is added to this request.
	Header http.Header
	// OneShot marks a request that must not reach the server twice, such as an
	// authorization code exchange (RFC 6749 section 4.1.2: a code is single use).
	// It is resent only when the server certainly did not process it.
	OneShot bool
	// DPoP, when set, adds a DPoP proof to every attempt and records the nonces
	// the server returns (RFC 9449 sections 5 and 8).
	DPoP Prover
	// Method is the HTTP method; "" means POST. A request with a Method or JSON
	// set is a client management request (RFC 7591, RFC 7592): it carries JSON
	// (if any) instead of Form, and no client authentication, which Header
	// gives instead as a bearer token when needed.
	Method string
	// JSON is the request body, sent as application/json.
	JSON []byte
}

// managed reports whether req is a client management request (see Request.Method).
func (req *Request) managed() bool { return req.Method != "" || req.JSON != nil }

// Prover makes DPoP proofs; pixie.DPoPProver is one.
type Prover interface {
	Proof(method, url, accessToken string) (string, error)
	SetNonce(url, nonce string)
}

// Response is a successful (2xx) response.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Received is when the response arrived, by the client's wall clock;
	// lifetimes such as expires_in count from it. It carries no monotonic clock
	// reading, so that a deadline computed from it passes on time after the
	// machine slept: see [Client.Post].
	Received time.Time
}

// Post sends req, retrying temporary failures within the Retry bounds. A non-2xx
// response, or a 2xx response whose JSON body holds an "error" member (as some
// servers send), is returned as *Error.
func (c *Client) Post(ctx context.Context, req *Request) (*Response, error) {
	if err := CheckURL(req.URL, c.AllowInsecure); err != nil {
		return nil, &Error{Op: req.Op, Err: err}
	}
	r := c.Retry.withDefaults()
	nonceRetried := false
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		var we *Error
		if errors.As(err, &we) && we.Code == "use_dpop_nonce" && req.DPoP != nil && !nonceRetried {
			// The server refused the proof for want of the nonce it just gave
			// (RFC 9449 section 8), before processing the request: resend it
			// at once, even a one-shot request. This is not a failed attempt.
			nonceRetried = true
			attempt--
			continue
		}
		if we == nil || attempt >= r.MaxAttempts || ctx.Err() != nil {
			return nil, err
		}
		if !we.temporary() || (req.OneShot && !we.notProcessed()) {
			return nil, err
		}
		wait := we.RetryAfter
		if wait > r.MaxWait {
			return nil, err
		}
		if wait == 0 {
			wait = r.backoff(attempt)
		}
		c.logger().LogAttrs(ctx, slog.LevelDebug, "oauth2 retry",
			slog.String("op", req.Op), slog.Int("attempt", attempt), slog.Duration("wait", wait))
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, &Error{Op: req.Op, Err: fmt.Errorf("%w while waiting to retry after: %s", serr, we.Error())}
		}
	}
}

func (c *Client) once(ctx context.Context, req *Request) (*Response, error) {
	form := make(url.Values, len(req.Form)+3)
	for k, v := range req.Form {
		form[k] = v
	}
	h := make(http.Header, 4)
	method, reqBody, contentType := http.MethodPost, []byte(nil), "application/x-www-form-urlencoded"
	if req.managed() {
		if req.Method != "" {
			method = req.Method
		}
		if req.JSON != nil {
			reqBody, contentType = req.JSON, "application/json"
		}
	} else {
		if err := req.Auth.apply(h, form, c.now()); err != nil {
			return nil, &Error{Op: req.Op, Err: fmt.Errorf("client authentication: %w", err)}
		}
		reqBody = []byte(form.Encode())
	}
	hc := c.httpClient()
	if hc.Timeout == 0 {
		// A caller's client without a timeout still gets one per request.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var rd io.Reader
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, rd)
	if err != nil {
		return nil, &Error{Op: req.Op, Err: err}
	}
	for _, hs := range []http.Header{c.Header, req.Header, h} {
		for k, v := range hs {
			hr.Header[k] = v
		}
	}
	if reqBody != nil {
		hr.Header.Set("Content-Type", contentType)
	}
	if req.DPoP != nil {
		proof, err := req.DPoP.Proof(method, req.URL, "")
		if err != nil {
			return nil, &Error{Op: req.Op, Err: fmt.Errorf("DPoP proof: %w", err)}
		}
		hr.Header.Set("DPoP", proof)
	}
	if hr.Header.Get("Accept") == "" {
		hr.Header.Set("Accept", "application/json")
	}
	start := time.Now()
	resp, err := hc.Do(hr)
	if err != nil {
		err = redactURLError(err)
		c.logger().LogAttrs(ctx, slog.LevelDebug, "oauth2 exchange", slog.String("op", req.Op),
			slog.String("url", endpointForLog(req.URL)), slog.String("error", err.Error()))
		return nil, &Error{Op: req.Op, Err: err}
	}
	defer resp.Body.Close()
	if n := resp.Header.Get("DPoP-Nonce"); n != "" && req.DPoP != nil {
		req.DPoP.SetNonce(req.URL, n)
	}
	body, err := ReadBody(resp.Body)
	// Round(0) drops the monotonic clock reading time.Now gives: comparisons
	// between two times that both carry one use the monotonic clock, which
	// stops while the machine is suspended, so an expiry computed from such a
	// reading would pass late by the time slept.
	received := c.now().Round(0)
	c.logger().LogAttrs(ctx, slog.LevelDebug, "oauth2 exchange", slog.String("op", req.Op),
		slog.String("url", endpointForLog(req.URL)), slog.Int("status", resp.StatusCode),
		slog.Duration("elapsed", time.Since(start)))
	if err != nil {
		return nil, &Error{Op: req.Op, StatusCode: resp.StatusCode, Err: fmt.Errorf("reading response: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, errorResponse(req.Op, resp, body, received)
	}
	if e := errorIn200(req.Op, resp, body); e != nil {
		return nil, e
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, Received: received}, nil
}

// errorResponse decodes a non-2xx response: an RFC 6749 section 5.2 JSON body when
// there is one, and the Retry-After header.
func errorResponse(op string, resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{
		Op:         op,
		StatusCode: resp.StatusCode,
		Body:       body[:min(len(body), maxErrorBody)],
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	var f errorFields
	if decodeErrorFields(resp.Header.Get("Content-Type"), body, &f) {
		e.Code, e.Description, e.URI = f.Code, f.Description, f.URI
	}
	if loc, err := resp.Location(); err == nil && resp.StatusCode/100 == 3 {
		e.Err = fmt.Errorf("the endpoint redirects to %s; redirects are not followed, configure the endpoint's final URL", endpointForLog(loc.String()))
	}
	return e
}

// errorIn200 finds an OAuth error that a server returned with a 2xx status, as
// GitHub and Slack do. The body is not kept: it is a success response's.
func errorIn200(op string, resp *http.Response, body []byte) *Error {
	var f errorFields
	if !decodeErrorFields(resp.Header.Get("Content-Type"), body, &f) {
		return nil
	}
	return &Error{Op: op, Code: f.Code, Description: f.Description, URI: f.URI, StatusCode: resp.StatusCode}
}

type errorFields struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri"`
}

// decodeErrorFields reads an error response from a JSON or form-encoded body and
// reports whether it names an error code. Like DecodeToken, it reads a text/plain
// or untyped body that is not JSON as a form.
func decodeErrorFields(contentType string, body []byte, f *errorFields) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	var raw map[string]any
	isJSON := mt != "application/x-www-form-urlencoded" && json.Unmarshal(body, &raw) == nil
	if !isJSON && (mt == "application/x-www-form-urlencoded" || mt == "" || mt == "text/plain") {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return false
		}
		f.Code, f.Description, f.URI = v.Get("error"), v.Get("error_description"), v.Get("error_uri")
		return f.Code != ""
	}
	// A JSON "error" member may be a non-string (some servers nest an object);
	// only a string code counts as an OAuth error.
	f.Code, _ = raw["error"].(string)
	f.Description, _ = raw["error_description"].(string)
	f.URI, _ = raw["error_uri"].(string)
	return f.Code != ""
}

// endpointForLog drops the query and fragment, which may carry parameters.
func endpointForLog(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String()
}

// redactURLError removes the URL (which may carry a query) from a transport error,
// keeping the cause.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, endpointForLog(ue.URL), ue.Err)
	}
	return err
}

// httpClient returns the client to send with: a copy of c.HTTP that does not
// follow redirects. A token endpoint has no reason to redirect, and following a
// 307 or 308 would post the client's credentials and grant to the redirect's
// target, which CheckURL never saw.
func (c *Client) httpClient() *http.Client {
	hc := *defaultHTTP
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d, or until ctx is done and then returns its error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 3
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 250 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 5 * time.Second
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 30 * time.Second
	}
	return r
}

// backoff is exponential backoff with full jitter: a uniform delay in
// [0, min(MaxDelay, BaseDelay*2^(attempt-1))).
func (r Retry) backoff(attempt int) time.Duration {
	ceiling := r.MaxDelay
	if shift := attempt - 1; shift < 30 {
		if d := r.BaseDelay << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	return rand.N(ceiling) + 1
}
