package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/runbooker/runbooker"
	rbhttp "github.com/runbooker/runbooker/http"
)

func cmdSchedule(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "usage: runbooker schedule list | get NAME | set NAME --start TIME [--frequency OneTime|Hour|Day|Week|Month] [--interval N] " +
		"[--time-zone ZONE] [--expiry TIME] [--week-days Mon,Fri] [--month-days 1,15,-1] [--occurrences Last:Friday,First:Monday] " +
		"[--description TEXT] [--disabled] | delete NAME | link SCHEDULE RUNBOOK [-p K=V]... [--run-on GROUP] | unlink ID | defaults"
	var start *string
	var expiry *string
	var freq *string
	var interval *int
	var zone *string
	var weekDays *string
	var monthDays *string
	var occ *string
	var desc *string
	var disabled *bool
	var runOn *string
	var ps multiFlag
	verb, rest, c, err := subcommand("schedule", use, args, func(fs *flag.FlagSet) {
		start = fs.String("start", "", "set: first occurrence, RFC 3339")
		expiry = fs.String("expiry", "", "set: no occurrence after this time, RFC 3339")
		freq = fs.String("frequency", "OneTime", "set: OneTime, Hour, Day, Week or Month")
		interval = fs.Int("interval", 1, "set: every N hours, days, weeks or months")
		zone = fs.String("time-zone", "UTC", "set: IANA time zone of the start's wall-clock time")
		weekDays = fs.String("week-days", "", "set: Week: days, comma-separated (Monday,Friday)")
		monthDays = fs.String("month-days", "", "set: Month: days 1..31 or -1 (the last), comma-separated")
		occ = fs.String("occurrences", "", "set: Month: First..Fourth or Last with a day, such as Last:Friday")
		desc = fs.String("description", "", "set: description")
		disabled = fs.Bool("disabled", false, "set: store the schedule disabled")
		runOn = fs.String("run-on", "", "link: worker group")
		fs.Var(&ps, "p", "link: parameter Key=Value or Key:=JSON (repeatable)")
	})
	if err != nil {
		return err
	}
	switch {
	case verb == "list" && len(rest) == 0:
		ss, err := c.Schedules(ctx)
		if err != nil {
			return err
		}
		for _, s := range ss {
			fmt.Fprintf(stdout, "%-20s %-8s every %d  %-8s next %s\n", s.Name, s.Frequency, s.Interval,
				map[bool]string{true: "enabled", false: "disabled"}[s.Enabled], nextText(s.NextRun))
		}
		return nil
	case verb == "get" && len(rest) == 1:
		s, err := c.Schedule(ctx, rest[0])
		if err != nil {
			return err
		}
		jss, err := c.JobSchedules(ctx, s.Name)
		if err != nil {
			return err
		}
		printSchedule(stdout, s)
		for _, js := range jss {
			fmt.Fprintf(stdout, "  %s  %s  next %s\n", js.ID, js.RunbookName, nextText(js.NextRunAt))
		}
		return nil
	case verb == "set" && len(rest) == 1:
		s := runbooker.Schedule{Name: rest[0], Frequency: *freq, Interval: *interval, TimeZone: *zone,
			Description: *desc, Enabled: !*disabled}
		if s.StartTime, err = time.Parse(time.RFC3339, *start); err != nil {
			return fmt.Errorf("--start: want an RFC 3339 time: %v", err)
		}
		if *expiry != "" {
			if s.ExpiryTime, err = time.Parse(time.RFC3339, *expiry); err != nil {
				return fmt.Errorf("--expiry: want an RFC 3339 time: %v", err)
			}
		}
		s.WeekDays = splitList(*weekDays)
		for _, d := range splitList(*monthDays) {
			n, err := strconv.Atoi(d)
			if err != nil {
				return fmt.Errorf("--month-days: %q is not a number", d)
			}
			s.MonthDays = append(s.MonthDays, n)
		}
		for _, o := range splitList(*occ) {
			which, day, ok := strings.Cut(o, ":")
			if !ok {
				return fmt.Errorf("--occurrences: want OCCURRENCE:DAY such as Last:Friday, not %q", o)
			}
			s.MonthlyOccurrences = append(s.MonthlyOccurrences, runbooker.ScheduleOccurrence{Occurrence: which, Day: day})
		}
		out, err := c.PutSchedule(ctx, s)
		if err != nil {
			return err
		}
		printSchedule(stdout, out)
		return nil
	case verb == "delete" && len(rest) == 1:
		return c.DeleteSchedule(ctx, rest[0])
	case verb == "link" && len(rest) == 2:
		params, err := parseParams(ps)
		if err != nil {
			return err
		}
		js, err := c.Link(ctx, rbhttp.LinkRequest{ScheduleName: rest[0], RunbookName: rest[1], Parameters: params, RunOn: *runOn})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s  %s on %s  next %s\n", js.ID, js.RunbookName, js.ScheduleName, nextText(js.NextRunAt))
		return nil
	case verb == "unlink" && len(rest) == 1:
		return c.Unlink(ctx, rest[0])
	case verb == "defaults" && len(rest) == 0:
		ss, err := c.DefaultSchedules(ctx)
		if err != nil {
			return err
		}
		for _, s := range ss {
			fmt.Fprintf(stdout, "created %s, next %s\n", s.Name, nextText(s.NextRun))
		}
		return nil
	}
	return fmt.Errorf(use)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func nextText(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Format(time.RFC3339)
}

func printSchedule(w io.Writer, s *runbooker.Schedule) {
	fmt.Fprintf(w, "%s  %s every %d, from %s (%s)", s.Name, s.Frequency, s.Interval, s.StartTime.Format(time.RFC3339), s.TimeZone)
	if !s.ExpiryTime.IsZero() {
		fmt.Fprintf(w, " until %s", s.ExpiryTime.Format(time.RFC3339))
	}
	if len(s.WeekDays) > 0 {
		fmt.Fprintf(w, " on %s", strings.Join(s.WeekDays, ", "))
	}
	for _, d := range s.MonthDays {
		fmt.Fprintf(w, " day %d", d)
	}
	for _, o := range s.MonthlyOccurrences {
		fmt.Fprintf(w, " %s %s", o.Occurrence, o.Day)
	}
	fmt.Fprintf(w, "; %s; next %s\n", map[bool]string{true: "enabled", false: "disabled"}[s.Enabled], nextText(s.NextRun))
}
