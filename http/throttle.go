package http

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/runbooker/runbooker"
)

// Throttling of failed sign-ins and of worker registrations (issue 11,
// items 7 and 8).
//
// Failed sign-ins are counted in three leaky buckets: per source address,
// per (address, credential id) and per credential id across all addresses.
// A caller is refused (429 with Retry-After) before its secret is checked
// when
//
//   - its (address, credential) pair has failed too often: someone at that
//     address is guessing that credential; or
//   - its address has failed too often (guessing across many ids), unless
//     this credential signed in from this address recently; or
//   - its credential has failed too often from everywhere (the backstop
//     against guessing from many addresses), unless this credential signed
//     in from this address recently.
//
// So a valid caller keeps working while others at its address guess other
// credentials, and an attacker elsewhere cannot lock a victim out of its
// own credential: only failures from the victim's address for the victim's
// credential, or a flood so wide it trips the backstop, reach a caller
// whose pair is known good. Refused requests are not counted, so a blocked
// guesser gets exactly the drain rate of guesses and no more.
//
// Every table is bounded (attackers choose the keys): when one is full, an
// entry that has drained is dropped, else the least filled of a random
// sample, so the keys under attack are the last to go.

// ThrottleConfig sets the limits. A bucket takes Burst events at once and
// one more every Per; zero fields take the defaults.
type ThrottleConfig struct {
	AddrBurst, PairBurst, CredBurst, RegisterBurst float64
	AddrPer, PairPer, CredPer, RegisterPer         time.Duration
	MaxKeys                                        int           // entries per table (default 10,000)
	KnownGood                                      time.Duration // how long a sign-in exempts its pair (default 24h)
}

func (c *ThrottleConfig) defaults() {
	def := func(b *float64, per *time.Duration, burst float64, every time.Duration) {
		if *b <= 0 {
			*b = burst
		}
		if *per <= 0 {
			*per = every
		}
	}
	def(&c.AddrBurst, &c.AddrPer, 30, 2*time.Second)         // 30 wrong guesses, then one per 2 s
	def(&c.PairBurst, &c.PairPer, 10, 6*time.Second)         // 10, then one per 6 s
	def(&c.CredBurst, &c.CredPer, 100, 2*time.Second)        // the backstop: 100, then one per 2 s
	def(&c.RegisterBurst, &c.RegisterPer, 20, 3*time.Second) // registrations per address and per token
	if c.MaxKeys <= 0 {
		c.MaxKeys = 10_000
	}
	if c.KnownGood <= 0 {
		c.KnownGood = 24 * time.Hour
	}
}

// throttle holds the buckets of one server process.
type throttle struct {
	mu               sync.Mutex
	now              func() time.Time
	cfg              ThrottleConfig
	addr, pair, cred *buckets             // failed sign-ins
	regAddr, regKey  *buckets             // registrations, failed or not
	good             map[string]time.Time // pairs that signed in: when
}

func newThrottle(cfg ThrottleConfig, now func() time.Time) *throttle {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	return &throttle{now: now, cfg: cfg,
		addr:    newBuckets(cfg.AddrBurst, cfg.AddrPer, cfg.MaxKeys),
		pair:    newBuckets(cfg.PairBurst, cfg.PairPer, cfg.MaxKeys),
		cred:    newBuckets(cfg.CredBurst, cfg.CredPer, cfg.MaxKeys),
		regAddr: newBuckets(cfg.RegisterBurst, cfg.RegisterPer, cfg.MaxKeys),
		regKey:  newBuckets(cfg.RegisterBurst, cfg.RegisterPer, cfg.MaxKeys),
		good:    map[string]time.Time{},
	}
}

func pairKey(addr, id string) string { return addr + "\x00" + id }

// idKey bounds a credential id as a key: ids are 32 characters, but a
// Basic header may carry up to a megabyte, and 10,000 of those would not
// be a bounded table.
func idKey(id string) string {
	if len(id) <= 64 {
		return id
	}
	return "#" + runbooker.HashSecret(id)
}

// check returns how long the caller must wait before its credential id may
// be tried from addr again; 0 lets it through.
func (t *throttle) check(addr, id string) time.Duration {
	id = idKey(id)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	k := pairKey(addr, id)
	if d := t.pair.wait(k, now); d > 0 {
		return d
	}
	if at, ok := t.good[k]; ok && now.Sub(at) < t.cfg.KnownGood {
		return 0
	}
	return max(t.addr.wait(addr, now), t.cred.wait(id, now))
}

// failed counts a wrong secret (or unknown id) from addr.
func (t *throttle) failed(addr, id string) {
	id = idKey(id)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.addr.add(addr, now)
	if id != "" {
		t.pair.add(pairKey(addr, id), now)
		t.cred.add(id, now)
	}
}

// succeeded marks the pair known good and forgets its failures.
func (t *throttle) succeeded(addr, id string) {
	id = idKey(id)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	k := pairKey(addr, id)
	t.pair.forget(k)
	if at, ok := t.good[k]; ok && now.Sub(at) < time.Minute {
		return // fresh enough: no write on every request
	}
	if _, ok := t.good[k]; !ok && len(t.good) >= t.cfg.MaxKeys {
		t.evictGood(now)
	}
	t.good[k] = now
}

// evictGood drops expired pairs, else the oldest of a sample.
func (t *throttle) evictGood(now time.Time) {
	var oldest string
	var at time.Time
	n := 0
	for k, v := range t.good {
		if now.Sub(v) >= t.cfg.KnownGood {
			delete(t.good, k)
			return
		}
		if n == 0 || v.Before(at) {
			oldest, at = k, v
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(t.good, oldest)
}

// register takes one registration from addr with a token (key: its hash),
// or says how long to wait. Addresses that failed too often wait too.
func (t *throttle) register(addr, key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if d := max(t.addr.wait(addr, now), t.regAddr.wait(addr, now), t.regKey.wait(key, now)); d > 0 {
		return d
	}
	t.regAddr.add(addr, now)
	t.regKey.add(key, now)
	return 0
}

// sourceKey is the throttling key of a request's source: its IP address,
// or for IPv6 its /64, which one host usually has whole.
func sourceKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// throttled answers 429 with Retry-After in whole seconds. what names
// what was throttled, never which limit: that would tell a guesser which
// ids are in use.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request, d time.Duration, what string) {
	secs := int64(math.Ceil(d.Seconds()))
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	s.writeError(w, r, runbooker.Errorf(runbooker.ETOOMANY, "too many %s; try again in %d s", what, max(secs, 1)))
}

// evictSample is how many entries a full table looks at to pick one to drop.
const evictSample = 16

// buckets is a bounded table of leaky buckets: each event fills its key's
// bucket by one, which drains by one every per; a bucket at burst or more
// is full.
type buckets struct {
	burst float64
	per   time.Duration
	max   int
	m     map[string]*bucket
}

type bucket struct {
	level float64
	at    time.Time
}

func newBuckets(burst float64, per time.Duration, max int) *buckets {
	return &buckets{burst: burst, per: per, max: max, m: map[string]*bucket{}}
}

// level returns the key's level at now, drained.
func (b *buckets) level(k string, now time.Time) float64 {
	e, ok := b.m[k]
	if !ok {
		return 0
	}
	return e.drained(now, b.per)
}

func (e *bucket) drained(now time.Time, per time.Duration) float64 {
	return max(0, e.level-float64(now.Sub(e.at))/float64(per))
}

// wait returns how long until the key's bucket takes another event.
func (b *buckets) wait(k string, now time.Time) time.Duration {
	over := b.level(k, now) - b.burst + 1
	if over <= 0 {
		return 0
	}
	return time.Duration(over * float64(b.per))
}

func (b *buckets) add(k string, now time.Time) {
	e, ok := b.m[k]
	if !ok {
		if len(b.m) >= b.max {
			b.evict(now)
		}
		e = &bucket{}
		b.m[k] = e
	}
	e.level, e.at = e.drained(now, b.per)+1, now
}

func (b *buckets) forget(k string) { delete(b.m, k) }

// evict drops a drained entry, else the least filled of a random sample.
func (b *buckets) evict(now time.Time) {
	var low string
	lowLevel := math.Inf(1)
	n := 0
	for k, e := range b.m {
		l := e.drained(now, b.per)
		if l == 0 {
			delete(b.m, k)
			return
		}
		if l < lowLevel {
			low, lowLevel = k, l
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(b.m, low)
}
