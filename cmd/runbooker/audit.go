package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
)

const auditUsage = `usage: runbooker audit verify [--tenant T | --all] | export [--tenant T] [--since TIME|DURATION] [--action PREFIX]   [--data DIR] [--db URL]`

// cmdAudit reads the audit log offline, straight from the database: verify
// walks each tenant's hash chain, export writes entries as JSON lines.
func cmdAudit(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return errors.New(auditUsage)
	}
	verb := args[0]
	fs := newFlagSet("audit " + verb)
	off := addOfflineFlags(fs)
	all := fs.Bool("all", false, "verify: every tenant")
	since := fs.String("since", "", "export: entries at or after this RFC 3339 time, or this long ago (such as 24h)")
	action := fs.String("action", "", "export: entries whose action starts with this (such as job.)")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New(auditUsage)
	}
	st, err := off.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if verb == "export" {
		from, err := parseSince(*since, time.Now())
		if err != nil {
			return err
		}
		return exportAudit(ctx, st, *off.tenant, runbooker.AuditFilter{Since: from, Action: *action}, stdout)
	}
	tenants := []string{*off.tenant}
	if *all {
		ts, err := st.Tenants(ctx)
		if err != nil {
			return err
		}
		tenants = tenants[:0]
		for _, t := range ts {
			tenants = append(tenants, t.ID)
		}
	}
	broken := false
	for _, tenant := range tenants {
		n, err := verifyAudit(ctx, st, tenant)
		var ce *runbooker.AuditChainError
		switch {
		case errors.As(err, &ce):
			broken = true
			fmt.Fprintf(stdout, "audit chain of tenant %q: BROKEN at seq %d (%d entries intact before it): %s\n",
				tenant, ce.Seq, n, ce.Problem)
		case err != nil:
			return err
		default:
			fmt.Fprintf(stdout, "audit chain of tenant %q: %d entries, intact\n", tenant, n)
		}
	}
	if broken {
		return exitError{1}
	}
	return nil
}

// verifyAudit walks a tenant's whole chain a page at a time and returns
// how many entries it checked, up to the first broken one (an
// *runbooker.AuditChainError).
func verifyAudit(ctx context.Context, st runbooker.Store, tenant string) (int64, error) {
	var prev *runbooker.AuditEntry
	var n int64
	for {
		f := runbooker.AuditFilter{Limit: runbooker.MaxAuditLimit}
		if prev != nil {
			f.AfterSeq = prev.Seq
		}
		page, err := st.ListAudit(ctx, tenant, f)
		if err != nil {
			return n, err
		}
		if err := runbooker.VerifyAuditChain(prev, page); err != nil {
			var ce *runbooker.AuditChainError
			if errors.As(err, &ce) {
				for _, e := range page {
					if e.Seq == ce.Seq {
						break
					}
					n++
				}
			}
			return n, err
		}
		n += int64(len(page))
		if len(page) < f.Limit {
			return n, nil
		}
		prev = page[len(page)-1]
	}
}

// exportAudit writes the tenant's entries that pass f, one JSON object a
// line, in Seq order.
func exportAudit(ctx context.Context, st runbooker.Store, tenant string, f runbooker.AuditFilter, stdout io.Writer) error {
	enc := json.NewEncoder(stdout)
	f.Limit = runbooker.MaxAuditLimit
	for {
		page, err := st.ListAudit(ctx, tenant, f)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		if len(page) < f.Limit {
			return nil
		}
		f.AfterSeq = page[len(page)-1].Seq
	}
}

// parseSince reads --since: an RFC 3339 time, or a duration meaning that
// long before now; "" is no bound.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2030-01-02T15:04:05Z) or a duration (24h)", s)
	}
	return t, nil
}
