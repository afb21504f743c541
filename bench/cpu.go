package bench

import "time"

// cpuUse is CPU time used by this process (self) and by the children it
// waited for.
type cpuUse struct{ self, children time.Duration }

func (u cpuUse) sub(v cpuUse) cpuUse { return cpuUse{u.self - v.self, u.children - v.children} }
func (u cpuUse) add(v cpuUse) cpuUse { return cpuUse{u.self + v.self, u.children + v.children} }
