package devserver

// Records reports how many authorization codes, access tokens, refresh tokens and
// token families the server holds, so tests can check that expired ones are
// forgotten.
func (s *Server) Records() (codes, access, refresh, families int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.codes), len(s.access), len(s.refresh), len(s.families)
}

// SweepEvery is how many codes and tokens are issued between sweeps of expired
// records.
const SweepEvery = sweepEvery
