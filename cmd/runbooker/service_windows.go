//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/runbooker/runbooker/privdir"
)

// defaultServiceStateDir is under ProgramData, readable by SYSTEM and the
// administrators only (install sets its ACL).
func defaultServiceStateDir(service string) string {
	return filepath.Join(windowsDataRoot(os.Getenv("ProgramData")), service)
}

// runService runs the worker under the service control manager when it
// was started by it, and in the foreground otherwise. A stop, shutdown or
// preshutdown request cancels the worker's context, which drains as
// SIGTERM does on Linux; the manager is told the stop is in progress until
// the worker is done. A service has no console: the log goes to worker.log
// in the state dir.
func runService(ctx context.Context, c WorkerConfig, stderr io.Writer, run func(context.Context, io.Writer) error) error {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return run(ctx, stderr)
	}
	if err := privdir.MkdirAll(c.StateDir); err != nil {
		return fmt.Errorf("--state-dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(c.StateDir, "worker.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// Only the manager stops a service. The Go runtime turns the console
	// events a service process also receives into SIGTERM, and one of them
	// comes whenever any user logs off (golang/go#40167): main's signal
	// context must not drain the worker then.
	h := &serviceHandler{ctx: context.WithoutCancel(ctx), run: run, log: f}
	if err := svc.Run(ownServiceName(), h); err != nil {
		fmt.Fprintf(f, "runbooker worker: service control manager: %v\n", err)
		return err
	}
	return h.err
}

// ownServiceName is the name of the service this process was started as
// (install's --service, which the worker's flags do not carry): the
// service manager records the process id of every service it started.
// "" when it cannot be told, which a service of its own process accepts.
func ownServiceName() string {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return ""
	}
	defer windows.CloseServiceHandle(m)
	var buf []byte
	var need, n uint32
	for {
		var p *byte
		if len(buf) > 0 {
			p = &buf[0]
		}
		err = windows.EnumServicesStatusEx(m, windows.SC_ENUM_PROCESS_INFO, windows.SERVICE_WIN32_OWN_PROCESS,
			windows.SERVICE_ACTIVE, p, uint32(len(buf)), &need, &n, nil, nil)
		if err == nil {
			break
		}
		if err != windows.ERROR_MORE_DATA || need <= uint32(len(buf)) {
			return ""
		}
		buf = make([]byte, need)
	}
	if n == 0 {
		return ""
	}
	pid := uint32(os.Getpid())
	for _, s := range unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), int(n)) {
		if s.ServiceStatusProcess.ProcessId == pid {
			return windows.UTF16PtrToString(s.ServiceName)
		}
	}
	return ""
}

// serviceHandler runs the worker for the service control manager.
type serviceHandler struct {
	ctx context.Context
	run func(context.Context, io.Writer) error
	log io.Writer
	err error
}

// stopHint is how often the manager hears that the stop goes on; it gives
// up on a service that stays silent for longer than the hint.
const stopHint = 30 * time.Second

// Execute implements svc.Handler.
func (h *serviceHandler) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.run(ctx, h.log) }()
	const accepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	ctxDone := ctx.Done()
	var progress <-chan time.Time
	var checkpoint uint32
	stopping := func() {
		checkpoint++
		status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: uint32(stopHint / time.Millisecond)}
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				h.err = err
				fmt.Fprintf(h.log, "runbooker worker: %s\n", errText(err))
				// A service-specific exit code counts as a failure, so the
				// recovery actions restart the worker.
				return true, 1
			}
			return false, 0
		case <-ctxDone: // a stop request
			ctxDone = nil
			t := time.NewTicker(stopHint / 3)
			defer t.Stop()
			progress = t.C
			stopping()
		case <-progress:
			stopping()
		case r := <-reqs:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown, svc.PreShutdown:
				cancel()
			}
		}
	}
}

// installService registers the worker as an automatic Windows service
// running as LocalSystem (or --account), restarted by the manager when it
// fails.
func installService(ctx context.Context, c installConfig, stdout, stderr io.Writer) error {
	if c.Root != "" {
		return errors.New("--root is for writing a systemd unit; a Windows service is registered with the service control manager")
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service control manager (from an elevated prompt?): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(c.Service); err == nil {
		s.Close()
		return fmt.Errorf("the service %s exists already: runbooker worker uninstall --service %s first", c.Service, c.Service)
	}
	password := ""
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return fmt.Errorf("--account-password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	s, err := m.CreateService(c.Service, c.Binary, mgr.Config{
		DisplayName:      "Runbooker worker " + c.Service,
		Description:      serviceDescription(c),
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true, // after the network is up
		Dependencies:     []string{"Tcpip", "Dnscache"},
		ServiceStartName: c.Account, // "": LocalSystem
		Password:         password,
	}, c.Args...)
	if err != nil {
		return fmt.Errorf("creating the service: %w", err)
	}
	defer s.Close()
	fail := func(err error) error {
		_ = s.Delete()
		return err
	}
	// The state folder is the service account's and the administrators'
	// (under ProgramData every user could otherwise read the worker's
	// credential). A virtual account exists once its service does.
	account := privdir.SIDSystem
	if c.Account != "" {
		sid, _, _, err := windows.LookupSID("", strings.TrimPrefix(c.Account, `.\`))
		if err != nil {
			return fail(fmt.Errorf("--account %s: %w", c.Account, err))
		}
		account = sid.String()
	}
	if err := privdir.MkdirAllFor(c.Worker.StateDir, account); err != nil {
		return fail(fmt.Errorf("--state-dir: %w", err))
	}
	// Restart after 5 s, 30 s, then every minute; a day without a failure
	// starts the count again. Exiting with an error counts as a failure.
	actions := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: time.Minute},
	}
	if err := s.SetRecoveryActions(actions, uint32((24 * time.Hour).Seconds())); err != nil {
		return fail(fmt.Errorf("setting the recovery actions: %w", err))
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fail(fmt.Errorf("setting the recovery actions: %w", err))
	}
	// At shutdown, Windows waits for a service that asked for preshutdown
	// notice up to this long: time for the drain.
	info := struct{ timeoutMillis uint32 }{uint32(stopTimeout(c.Worker.Drain) / time.Millisecond)}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_PRESHUTDOWN_INFO, (*byte)(unsafe.Pointer(&info))); err != nil {
		return fail(fmt.Errorf("setting the preshutdown timeout: %w", err))
	}
	fmt.Fprintf(stdout, "installed the service %s (automatic, delayed start)\n", c.Service)
	if c.NoStart {
		fmt.Fprintf(stdout, "start it with: sc.exe start %s\n", c.Service)
		return nil
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.Service, err)
	}
	fmt.Fprintf(stdout, "%s is starting; its log: %s\n", c.Service, filepath.Join(c.Worker.StateDir, "worker.log"))
	return nil
}

// uninstallService stops the service (the worker drains) and deletes it.
func uninstallService(ctx context.Context, c installConfig, stdout io.Writer) error {
	if c.Root != "" {
		return errors.New("--root is for systemd units")
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connecting to the service control manager (from an elevated prompt?): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(c.Service)
	if err != nil {
		return fmt.Errorf("opening the service %s: %w", c.Service, err)
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return err
	}
	if st.State != svc.Stopped {
		fmt.Fprintf(stdout, "stopping %s (running jobs may finish first)\n", c.Service)
		if st.State != svc.StopPending {
			if _, err := s.Control(svc.Stop); err != nil {
				return fmt.Errorf("stopping %s: %w", c.Service, err)
			}
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for st.State != svc.Stopped {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
			if st, err = s.Query(); err != nil {
				return err
			}
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("deleting %s: %w", c.Service, err)
	}
	fmt.Fprintf(stdout, "removed the service %s; the worker's state directory (its credential) is kept\n", c.Service)
	return nil
}
