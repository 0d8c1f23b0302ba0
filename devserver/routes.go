package devserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
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

// route is an endpoint: its path, its name in metrics, logs and [Faults], and
// its handler.
type route struct {
	path, name string
	handler    func(*Server, http.ResponseWriter, *http.Request)
}

// routeTable lists the endpoints.
func routeTable() []route {
	return []route{
		{pathOAuthMetadata, "discovery", (*Server).handleMetadata},
		{pathOIDCMetadata, "discovery", (*Server).handleMetadata},
		{pathJWKS, "jwks", (*Server).handleJWKS},
		{pathAuthorize, "authorize", (*Server).handleAuthorize},
		{pathLogin, "login", (*Server).handleLogin},
		{pathConsent, "consent", (*Server).handleConsent},
		{pathToken, "token", (*Server).handleToken},
		{pathDeviceAuth, "device_authorization", (*Server).handleDeviceAuthorization},
		{pathDevice, "device", (*Server).handleDevice},
		{pathRevoke, "revoke", (*Server).handleRevoke},
		{pathIntrospect, "introspect", (*Server).handleIntrospect},
		{pathUserinfo, "userinfo", (*Server).handleUserinfo},
		{pathPAR, "par", (*Server).handlePAR},
		{pathRegister, "register", (*Server).handleRegister},
		{pathRegister + "/", "register", (*Server).handleRegistration},
		{pathEndSession, "end_session", (*Server).handleEndSession},
		{pathResourceMetadata + "/", "resource_metadata", (*Server).handleResourceMetadata},
		{pathAPI, "api", (*Server).handleAPI},
		{pathAPI + "/", "api", (*Server).handleAPI},
		{pathAdmin, "admin", (*Server).handleAdmin},
	}
}

// isEndpointName reports whether name names an endpoint of routeTable.
func isEndpointName(name string) bool {
	return slices.ContainsFunc(routeTable(), func(r route) bool { return r.name == name })
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routeTable() {
		mux.Handle(rt.path, s.instrument(rt.name, func(w http.ResponseWriter, r *http.Request) { rt.handler(s, w, r) }))
	}
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
