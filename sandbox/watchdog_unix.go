//go:build unix

package sandbox

import (
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

// watchdogScript keeps the set of running jobs' process groups ("+ PGID",
// "- PGID" lines on stdin) and kills them all when stdin ends, which is when
// the worker is gone. It ignores the signals a terminal or a service manager
// sends to the worker, so that it outlives it.
const watchdogScript = `trap '' INT TERM HUP QUIT
declare -A g
while read -r op pg; do
  case $op in
    +) g[$pg]=1 ;;
    -) unset "g[$pg]" ;;
  esac
done
for pg in "${!g[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
`

// watchdog is one bash process per worker that kills the jobs' process
// groups if the worker dies (crash, SIGKILL, OOM). Pdeathsig kills only a
// job's main process; without the watchdog whatever that process started
// would live on while the job runs again elsewhere. It starts with the first
// job. A nil watchdog does nothing.
type watchdog struct {
	bash  string
	start sync.Once
	mu    sync.Mutex
	w     *os.File // nil when the watchdog could not start
}

func newWatchdog(bash string) *watchdog {
	if bash == "" {
		return nil
	}
	return &watchdog{bash: bash}
}

func (d *watchdog) run() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	cmd := exec.Command(d.bash, "--noprofile", "--norc", "-c", watchdogScript)
	cmd.Stdin = r
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // away from the worker's terminal signals
	if err := cmd.Start(); err != nil {
		w.Close()
		return
	}
	go func() { _ = cmd.Wait() }() // reap it should it die
	d.w = w
}

func (d *watchdog) add(pgid int)    { d.send('+', pgid) }
func (d *watchdog) remove(pgid int) { d.send('-', pgid) }

func (d *watchdog) send(op byte, pgid int) {
	if d == nil || pgid <= 0 {
		return
	}
	d.start.Do(d.run)
	if d.w == nil {
		return
	}
	line := append([]byte{op, ' '}, strconv.Itoa(pgid)...)
	d.mu.Lock()
	defer d.mu.Unlock()
	_, _ = d.w.Write(append(line, '\n')) // a dead watchdog only costs its protection
}
