package devserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// reqInfo is what a handler learns about a request for the log line and the
// metrics: the grant type, the client, the OAuth error code.
type reqInfo struct {
	endpoint, grantType, clientID, errorCode string
}

type infoKey struct{}

// infoFrom returns the request's reqInfo, or nil outside instrumented handlers.
func infoFrom(r *http.Request) *reqInfo {
	info, _ := r.Context().Value(infoKey{}).(*reqInfo)
	return info
}

// setClient records the client a request identified.
func setClient(r *http.Request, id string) {
	if info := infoFrom(r); info != nil {
		info.clientID = id
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(path, endpoint string, h http.HandlerFunc) {
		mux.Handle(path, s.instrument(endpoint, h))
	}
	handle(pathOAuthMetadata, "discovery", s.handleMetadata)
	handle(pathOIDCMetadata, "discovery", s.handleMetadata)
	handle(pathJWKS, "jwks", s.handleJWKS)
	handle(pathAuthorize, "authorize", s.handleAuthorize)
	handle(pathLogin, "login", s.handleLogin)
	handle(pathConsent, "consent", s.handleConsent)
	handle(pathToken, "token", s.handleToken)
	handle(pathDeviceAuth, "device_authorization", s.handleDeviceAuthorization)
	handle(pathDevice, "device", s.handleDevice)
	handle(pathRevoke, "revoke", s.handleRevoke)
	handle(pathIntrospect, "introspect", s.handleIntrospect)
	handle(pathUserinfo, "userinfo", s.handleUserinfo)
	handle(pathPAR, "par", s.handlePAR)
	handle(pathRegister, "register", s.handleRegister)
	handle(pathAdmin, "admin", s.handleAdmin)
	mux.HandleFunc(pathMetrics, s.handleMetrics)
	return mux
}

// instrument wraps an endpoint's handler with fault injection, one log record per
// request and the request counters.
func (s *Server) instrument(endpoint string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{endpoint: endpoint}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		rec := &recorder{ResponseWriter: w}
		if !s.injectFaults(rec, r, endpoint) {
			h(rec, r)
		}
		status := rec.status
		switch {
		case rec.hijacked != nil:
			status = -1
			defer rec.hijacked.Close()
		case status == 0:
			status = http.StatusOK
		}
		s.metrics.add(metricKey{endpoint, info.grantType, info.clientID, strconv.Itoa(status)})
		// Only the method, the path (never the query, which may carry codes) and
		// what the handler recorded are logged: no parameter value, no header.
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("endpoint", endpoint),
			slog.Int("status", status),
			slog.String("grant_type", info.grantType),
			slog.String("client_id", info.clientID),
			slog.String("error", info.errorCode),
			slog.Duration("duration", time.Since(start)))
	})
}

// recorder captures the status code and supports hijacking, which the
// drop-after-refresh fault uses.
type recorder struct {
	http.ResponseWriter
	status   int
	hijacked net.Conn // set by dropConnection; closed once the request is recorded
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// dropConnection takes over the request's connection so that it is closed
// without a response, after the request is counted and logged.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not an HTTP/1 connection: abort the handler, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	rec, ok := w.(*recorder)
	if !ok {
		conn.Close()
		return
	}
	rec.hijacked = conn
}
