package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// uidPool hands out the user ids jobs run as, one per running job, so no
// two running jobs share an identity (and so cannot read each other's
// files or /proc entries). An id is reused only after its job ended and
// every process of it is gone.
//
// Several workers on one machine (a server and a hybrid worker, or two
// workers) draw from the same range: each id taken is also held as an
// flock on a lock file in one machine-wide directory, so no id is ever in
// two workers' jobs at once.
type uidPool struct {
	mu    sync.Mutex
	base  uint32
	locks string
	held  []*os.File // non-nil: in use here
	next  int        // where the search for a free id starts: ids rotate
}

func newUIDPool(base uint32, count int) *uidPool {
	locks := "/run/runbooker-uids"
	if os.MkdirAll(locks, 0o700) != nil {
		locks = filepath.Join(os.TempDir(), "runbooker-uids")
		_ = os.MkdirAll(locks, 0o700)
	}
	return &uidPool{base: base, locks: locks, held: make([]*os.File, count)}
}

func (p *uidPool) size() int { return len(p.held) }

// acquire takes an id no job of any worker on this machine holds; false
// when all are in use.
func (p *uidPool) acquire() (uint32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.held {
		k := (p.next + i) % len(p.held)
		if p.held[k] != nil {
			continue
		}
		uid := p.base + uint32(k)
		f, err := os.OpenFile(filepath.Join(p.locks, strconv.FormatUint(uint64(uid), 10)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close() // another worker's job has it
			continue
		}
		p.held[k] = f
		p.next = k + 1
		return uid, true
	}
	return 0, false
}

func (p *uidPool) release(uid uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := int(uid - p.base); uid >= p.base && k < len(p.held) && p.held[k] != nil {
		p.held[k].Close() // drops the lock
		p.held[k] = nil
	}
}
