//go:build !linux

package sandbox

import "context"

// warmPool exists on Linux only, where the gated start does (see
// warm_linux.go); elsewhere every job starts its interpreter.
type warmPool struct{}

type warmBash struct{}

// KeepWarm keeps no interpreters started here.
func (in *Interpreters) KeepWarm(int) {}

func (p *warmPool) take(Spec) *warmBash { return nil }
func (p *warmPool) begin()              {}
func (p *warmPool) end()                {}

func (in Interpreters) runWarm(context.Context, *Spec, Emitter, *warmBash) (Result, bool) {
	return Result{}, false
}
