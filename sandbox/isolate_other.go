//go:build !linux

package sandbox

import (
	"fmt"
	"runtime"
	"syscall"
)

// isolation is empty where jobs cannot be isolated.
type isolation struct{}

// Isolate sets up the worker's work directory. Job isolation (users,
// namespaces, jail, cgroups) exists on Linux only; strict mode fails here.
func (in *Interpreters) Isolate(cfg IsolationConfig) (Protections, error) {
	if err := in.setUpWork(); err != nil {
		return nil, err
	}
	ps := Protections{{Name: "isolation", Detail: "job isolation needs a Linux worker; on " + runtime.GOOS + " jobs run as the worker's user"}}
	if cfg.Mode == IsolationStrict {
		return ps, fmt.Errorf("--isolation strict: %s", ps.Missing())
	}
	return ps, nil
}

// Close removes the worker's work directory.
func (in Interpreters) Close() {
	in.sweep.close()
	if in.work != "" {
		removeJobDir(in.work)
	}
}

type jobLease struct{}

func (iso *isolation) lease(Spec) (*jobLease, error)                   { return nil, nil }
func (l *jobLease) apply(*syscall.SysProcAttr)                         {}
func (l *jobLease) start(_ *syscall.SysProcAttr, f func() error) error { return f() }
func (l *jobLease) ownNamespace() bool                                 { return false }
func (l *jobLease) oomKilled() bool                                    { return false }
func (l *jobLease) memoryLimit() int64                                 { return 0 }
func (l *jobLease) release()                                           {}
func (l *jobLease) credential(c *Credential) *Credential               { return c }

func catchesSignal(int, syscall.Signal) bool { return true }

// EnterMountNamespace does nothing where jobs cannot be jailed.
func EnterMountNamespace() {}
