package sessionseal

import "testing"

// TestAssociatedDataLayout pins the bytes: sessions already sealed open only
// with the same associated data.
func TestAssociatedDataLayout(t *testing.T) {
	got := string(AssociatedData("pixie sqlitesession v1", "k3y", "ada@example.com"))
	if want := "pixie sqlitesession v1\x00k3y\x00ada@example.com"; got != want {
		t.Errorf("AssociatedData = %q, want %q", got, want)
	}
}
