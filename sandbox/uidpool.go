package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// uidPool hands out the user ids jobs run as, one per running job, so no
// two running jobs share an identity (and so cannot read each other's
// files or /proc entries). An id is reused only after its job ended and
// every process of it is gone.
type uidPool struct {
	mu   sync.Mutex
	base uint32
	used []bool
	next int // where the search for a free id starts: ids rotate
}

func newUIDPool(base uint32, count int) *uidPool {
	return &uidPool{base: base, used: make([]bool, count)}
}

func (p *uidPool) size() int { return len(p.used) }

// acquire takes a free id; false when all are in use.
func (p *uidPool) acquire() (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.used {
		k := (p.next + i) % len(p.used)
		if !p.used[k] {
			p.used[k] = true
			p.next = k + 1
			return p.base + uint32(k), true
		}
	}
	return 0, false
}

func (p *uidPool) release(uid uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := int(uid - p.base); uid >= p.base && k < len(p.used) {
		p.used[k] = false
	}
}

// randomSuffix is a short random name part.
func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
