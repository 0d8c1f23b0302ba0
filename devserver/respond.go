package devserver

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/pixieauth/pixie"
)

// maxFormBytes bounds request bodies.
const maxFormBytes = 64 << 10

// writeJSON writes v with the given status and the no-store headers that RFC 6749
// section 5.1 requires on responses carrying credentials.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSONBody(w, status, v)
}

// writeJSONBody writes v as JSON with the given status, as application/json unless
// a Content-Type is already set.
func writeJSONBody(w http.ResponseWriter, status int, v any) {
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError writes err as an RFC 6749 section 5.2 error response. An error that
// is not a *pixie.Error becomes server_error. An invalid_client answer to a
// request that used HTTP Basic authentication carries WWW-Authenticate (RFC 6749
// section 5.2).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *pixie.Error
	if !errors.As(err, &e) || e.Code == "" {
		e = oauthError(pixie.ErrServerError, "internal error")
	}
	status := e.StatusCode
	if status == 0 {
		status = http.StatusBadRequest
	}
	if e.Code == pixie.ErrInvalidClient.Code {
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="pixie devserver", charset="UTF-8"`)
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
	}
	if info := infoFrom(r); info != nil {
		info.errorCode = e.Code
	}
	writeJSON(w, status, e)
}

// parseForm reads a POSTed application/x-www-form-urlencoded body, refusing other
// methods and content types, and parameters given more than once (RFC 6749
// section 3.2) except resource (RFC 8707) and audience (RFC 8693), which may
// repeat. Parameters without a value are dropped, as if omitted (RFC 6749
// sections 3.1 and 3.2). Query parameters are ignored.
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, oauthError(pixie.ErrInvalidRequest, "the endpoint accepts POST only")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, oauthError(pixie.ErrInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			e := oauthError(pixie.ErrInvalidRequest, "the body is larger than %d bytes", maxFormBytes)
			e.StatusCode = http.StatusRequestEntityTooLarge
			return nil, e
		}
		return nil, oauthError(pixie.ErrInvalidRequest, "unreadable form body")
	}
	for k, v := range r.PostForm {
		if v = slices.DeleteFunc(v, func(s string) bool { return s == "" }); len(v) == 0 {
			delete(r.PostForm, k)
			continue
		}
		r.PostForm[k] = v
		if len(v) > 1 && k != "resource" && k != "audience" {
			return nil, oauthError(pixie.ErrInvalidRequest, "parameter %s is repeated", k)
		}
	}
	return r.PostForm, nil
}

// methodNotAllowed answers a request with a method the endpoint does not serve.
func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}
