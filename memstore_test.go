package pixie_test

import (
	"testing"

	"github.com/pixieauth/pixie"
	"github.com/pixieauth/pixie/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) pixie.Store { return new(pixie.MemoryStore) })
}
