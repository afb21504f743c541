package sandbox

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PeerInJob reports whether the TCP connection from remote to local (a
// loopback connection accepted by this process) was opened by a process of
// the job whose first process is jobPid. A job that has a PID namespace of
// its own is recognised by it: the connecting socket must be held by a
// process in that namespace, so a token copied out of one job is useless to
// any other. Without a namespace of its own (no isolation) every caller
// passes, and the token alone decides.
func PeerInJob(local, remote net.Addr, jobPid int) (bool, error) {
	jobNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", jobPid))
	if err != nil {
		return false, fmt.Errorf("the job's process is gone: %w", err)
	}
	if own, err := os.Readlink("/proc/self/ns/pid"); err == nil && own == jobNS {
		return true, nil
	}
	inode, err := socketInode(local, remote)
	if err != nil {
		return false, err
	}
	want := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if ns, err := os.Readlink(p + "/ns/pid"); err != nil || ns != jobNS {
			continue
		}
		fds, _ := os.ReadDir(p + "/fd")
		for _, fd := range fds {
			if l, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && l == want {
				return true, nil
			}
		}
	}
	return false, nil
}

// socketInode finds the inode of the client end of a loopback connection in
// /proc/net/tcp (tcp6 for IPv6).
func socketInode(local, remote net.Addr) (string, error) {
	l, err1 := netip.ParseAddrPort(local.String())
	r, err2 := netip.ParseAddrPort(remote.String())
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("not a TCP connection: %s -> %s", remote, local)
	}
	file := "/proc/net/tcp"
	if !r.Addr().Unmap().Is4() {
		file = "/proc/net/tcp6"
	}
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		src, ok1 := procNetAddr(fields[1])
		dst, ok2 := procNetAddr(fields[2])
		if ok1 && ok2 && src == unmap(r) && dst == unmap(l) {
			return fields[9], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no socket %s -> %s", remote, local)
}

func unmap(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// procNetAddr parses an address of /proc/net/tcp: the IP in host byte order
// (little-endian 32-bit words) in hex, a colon, the port in hex.
func procNetAddr(s string) (netip.AddrPort, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(portHex, 16, 16)
	raw, err2 := hex.DecodeString(ipHex)
	if !ok || err != nil || err2 != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i+4 <= len(raw); i += 4 { // each 32-bit word is little-endian
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}
