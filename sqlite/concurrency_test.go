package sqlite_test

import (
	"testing"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/storetest"
)

func TestStoreConcurrency(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrency(t, func(t *testing.T) runbooker.Store { return openTemp(t) })
}
