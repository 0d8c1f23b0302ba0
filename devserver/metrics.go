package devserver

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// metricKey identifies one counter of pixie_devserver_requests_total.
type metricKey struct {
	endpoint, grantType, clientID, status string
}

type metrics struct {
	mu     sync.Mutex
	counts map[metricKey]int
}

func newMetrics() *metrics { return &metrics{counts: map[metricKey]int{}} }

func (m *metrics) add(k metricKey) {
	m.mu.Lock()
	m.counts[k]++
	m.mu.Unlock()
}

// Match selects requests for [Server.Count]. Empty fields match anything.
type Match struct {
	// Endpoint is the endpoint name: "token", "authorize", "device_authorization",
	// "revoke", "introspect", "userinfo", "par", "register", "jwks", "discovery",
	// "login", "consent", "device" or "admin".
	Endpoint string
	// GrantType is the grant_type of token requests, such as "refresh_token".
	GrantType string
	// ClientID is the client the request identified or authenticated as.
	ClientID string
	// Status is the HTTP status code; 0 matches any. A connection dropped by fault
	// injection has status -1.
	Status int
}

// Count returns how many requests matched m since the server started, so a test
// can assert, for example, how many refreshes a client made:
//
//	srv.Count(devserver.Match{Endpoint: "token", GrantType: "refresh_token", ClientID: "web"})
func (s *Server) Count(m Match) int {
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	n := 0
	for k, v := range s.metrics.counts {
		if (m.Endpoint == "" || m.Endpoint == k.endpoint) &&
			(m.GrantType == "" || m.GrantType == k.grantType) &&
			(m.ClientID == "" || m.ClientID == k.clientID) &&
			(m.Status == 0 || strconv.Itoa(m.Status) == k.status) {
			n += v
		}
	}
	return n
}

// handleMetrics writes the counters in the Prometheus text exposition format.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	s.metrics.mu.Lock()
	keys := make([]metricKey, 0, len(s.metrics.counts))
	for k := range s.metrics.counts {
		keys = append(keys, k)
	}
	counts := make([]int, len(keys))
	slices.SortFunc(keys, func(a, b metricKey) int {
		return cmp.Or(cmp.Compare(a.endpoint, b.endpoint), cmp.Compare(a.grantType, b.grantType),
			cmp.Compare(a.clientID, b.clientID), cmp.Compare(a.status, b.status))
	})
	for i, k := range keys {
		counts[i] = s.metrics.counts[k]
	}
	s.metrics.mu.Unlock()

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	b.WriteString("# HELP pixie_devserver_requests_total Requests served, by endpoint, grant type, client and HTTP status.\n")
	b.WriteString("# TYPE pixie_devserver_requests_total counter\n")
	for i, k := range keys {
		fmt.Fprintf(&b, "pixie_devserver_requests_total{endpoint=%s,grant_type=%s,client_id=%s,status=%s} %d\n",
			labelValue(k.endpoint), labelValue(k.grantType), labelValue(k.clientID), labelValue(k.status), counts[i])
	}
	w.Write([]byte(b.String()))
}

// labelValue quotes a Prometheus label value, escaping backslash, double quote and
// newline.
func labelValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
