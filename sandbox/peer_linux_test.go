package sandbox_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/sandbox"
)

// TestPeerInJob connects to a listener from inside an isolated job and from
// elsewhere, and asks for each connection whether it came from the job.
func TestPeerInJob(t *testing.T) {
	in := isolated(t, sandbox.IsolationConfig{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	pids := make(chan int, 1)
	spec := bash(`exec 3<>/dev/tcp/127.0.0.1/` + port + `; read -r line <&3; echo "$line"`)
	spec.OnStart = func(pid int) { pids <- pid }
	done := make(chan sandbox.Result, 1)
	s := &sink{t: t}
	go func() { done <- in.Run(context.Background(), spec, s.emit) }()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	jobPid := <-pids
	ok, err := sandbox.PeerInJob(conn.LocalAddr(), conn.RemoteAddr(), jobPid)
	if err != nil || !ok {
		t.Errorf("the job's own connection: in job %v, err %v", ok, err)
	}
	// A connection from this process (outside the job's namespace).
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	oc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	if ok, err := sandbox.PeerInJob(oc.LocalAddr(), oc.RemoteAddr(), jobPid); ok {
		t.Errorf("a stranger's connection passed as the job's (err %v)", err)
	}
	_, _ = conn.Write([]byte("bye\n"))
	conn.Close()
	select {
	case res := <-done:
		wantStatus(t, res, runbooker.StatusCompleted)
	case <-time.After(time.Minute):
		t.Fatal("the job did not end")
	}
	equal(t, "output", s.texts(runbooker.StreamOutput), []string{"bye"})
	if _, err := sandbox.PeerInJob(oc.LocalAddr(), oc.RemoteAddr(), jobPid); err == nil {
		t.Error("a finished job's pid still answers")
	}
}
