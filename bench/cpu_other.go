//go:build !unix

package bench

// cpuNow is not measured here: the throughput figure says nothing of CPU.
func cpuNow() cpuUse { return cpuUse{} }
