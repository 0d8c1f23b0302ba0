package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Error describes a failed exchange: the server's OAuth error response (RFC 6749
// section 5.2), an unexpected HTTP status, an undecodable body, or a network
// failure. The root package turns it into a *pixie.Error with the same fields.
type Error struct {
	Op          string
	Code        string
	Description string
	URI         string
	StatusCode  int
	Body        []byte
	RetryAfter  time.Duration
	Err         error
}

func (e *Error) Error() string {
	switch {
	case e.Code != "" && e.Description != "":
		return e.Op + ": " + e.Code + ": " + e.Description
	case e.Code != "":
		return e.Op + ": " + e.Code
	case e.Err != nil:
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + ": HTTP " + strconv.Itoa(e.StatusCode)
}

func (e *Error) Unwrap() error { return e.Err }

// temporary reports whether e is worth retrying: a network failure, 429, 5xx, or
// the server_error and temporarily_unavailable codes (RFC 6749 section 4.1.2.1).
func (e *Error) temporary() bool { return Temporary(e.Code, e.StatusCode, e.Err) }

// Temporary reports whether a failed exchange is worth retrying later: the codes
// server_error and temporarily_unavailable (RFC 6749 section 4.1.2.1), a 429 or
// 5xx status, or, when the server gave neither code nor status, a transient
// transport failure: a timeout, a refused, reset or dropped connection, a
// temporary DNS failure. A certificate that does not verify and a cancelled
// context are not temporary: retrying will not help.
func Temporary(code string, status int, cause error) bool {
	if code == "server_error" || code == "temporarily_unavailable" ||
		status == http.StatusTooManyRequests || status >= 500 {
		return true
	}
	if status != 0 || code != "" || cause == nil || errors.Is(cause, context.Canceled) {
		return false
	}
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		dns       *net.DNSError
		netErr    net.Error
		opErr     *net.OpError
	)
	switch {
	case errors.As(cause, &verify), errors.As(cause, &authority), errors.As(cause, &hostname), errors.As(cause, &invalid):
		return false
	case errors.As(cause, &dns):
		return dns.IsTemporary || dns.IsTimeout
	case errors.As(cause, &netErr) && netErr.Timeout(), errors.As(cause, &opErr):
		return true
	}
	return errors.Is(cause, io.EOF) || errors.Is(cause, io.ErrUnexpectedEOF) || errors.Is(cause, syscall.ECONNRESET)
}

// notProcessed reports whether the server certainly did not act on the request:
// the connection could not be made, or the server refused it with 429 Too Many
// Requests (RFC 6585 section 4). Only then may a one-shot request be resent.
func (e *Error) notProcessed() bool {
	if e.StatusCode == http.StatusTooManyRequests {
		return true
	}
	var oe *net.OpError
	return e.StatusCode == 0 && errors.As(e.Err, &oe) && oe.Op == "dial"
}

// maxErrorBody bounds the raw body kept in an Error.
const maxErrorBody = 4 << 10

// parseRetryAfter reads a Retry-After header (RFC 9110 section 10.2.3): delay
// seconds or an HTTP date. It returns 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		if s > 86400 {
			s = 86400
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
