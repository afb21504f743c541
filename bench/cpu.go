package bench

import (
	"time"

	"github.com/runbooker/runbooker/sandbox"
)

// cpuUse is CPU time used by this process (self) and by the children it
// waited for.
type cpuUse struct{ self, children time.Duration }

func (u cpuUse) sub(v cpuUse) cpuUse { return cpuUse{u.self - v.self, u.children - v.children} }
func (u cpuUse) add(v cpuUse) cpuUse { return cpuUse{u.self + v.self, u.children + v.children} }

// cpuNow is what this process and the children it waited for have used so
// far (sandbox.CPUUsed).
func cpuNow() cpuUse {
	self, children := sandbox.CPUUsed()
	return cpuUse{self, children}
}
