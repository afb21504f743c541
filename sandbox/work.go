package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// workPrefix starts the name of a worker's own directory under the job
// root: runbooker-<worker pid>-<random>. It holds the job directories and
// the support directory, so one worker's leftovers go in one piece.
const workPrefix = "runbooker-"

// newWorkDir makes a worker's directory under root (the system temp dir
// when empty): owned by the worker, mode 0711, so a job user may pass
// through it to its own job directory and the support directory but may
// neither list it nor create anything in it.
func newWorkDir(root string) (string, error) {
	if root == "" {
		root = os.TempDir()
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(abs, workPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("cannot create the worker's job directory under %s: %w", abs, err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, supportName), 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// setUpWork removes the work directories of workers that are gone, makes
// this worker's and starts sweeping periodically (see Sweep): a job
// directory that could not be removed when its job ended goes later.
func (in *Interpreters) setUpWork() error {
	for _, w := range deadWorkersDirs(in.TempRoot, workPrefix) {
		removeJobDir(w)
	}
	work, err := newWorkDir(in.TempRoot)
	if err != nil {
		return err
	}
	in.work = work
	if in.left == nil {
		in.left = &leftovers{}
	}
	in.sweep = startSweeper(*in, SweepEvery)
	return nil
}

// supportName is the read-only directory, inside the work directory, of the
// helpers runbooks call (see SupportDir).
const supportName = "support"

// SupportDir is an absolute directory every job may read but none may
// write, whatever identity it runs as: the place for helper programs and
// modules runbooks use (the asset helpers). It is empty until Isolate has
// run.
func (in Interpreters) SupportDir() string {
	if in.work == "" {
		return ""
	}
	return filepath.Join(in.work, supportName)
}

// randomSuffix is a short random name part.
func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
