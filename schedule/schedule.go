// Package schedule is the recurrence math of Runbooker's schedules, after
// Azure Automation's model: a start, an optional expiry, a frequency
// (OneTime, Hour, Day, Week, Month) with an interval, an IANA time zone,
// week days for Week and month days or occurrences ("first Monday",
// "last Friday") for Month. It has no I/O besides time.LoadLocation.
//
// Rules kept here on purpose:
//   - Hour counts real elapsed hours from the start; Day, Week and Month
//     keep the start's local wall-clock time in the schedule's time zone.
//   - A month day the month lacks (the 31st in April, the 30th in
//     February) is skipped for that month, as Azure Automation does; the
//     day -1 means the month's last day and never skips.
//   - A local time that does not exist (02:30 on a spring-forward day)
//     runs once, at the first valid instant after the gap (03:00 local).
//   - A local time that happens twice (01:30 on a fall-back day) runs
//     once, at its first occurrence.
//   - Weeks start on Monday; week intervals count from the start's week.
//   - An occurrence after the expiry does not happen.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Frequency is how often a schedule recurs, spelled as Azure Automation does.
type Frequency string

// The frequencies.
const (
	OneTime Frequency = "OneTime"
	Hour    Frequency = "Hour"
	Day     Frequency = "Day"
	Week    Frequency = "Week"
	Month   Frequency = "Month"
)

// Occurrence is a weekday's place in a month: "First" to "Fourth" or "Last".
type Occurrence string

// The occurrences of a weekday in a month.
const (
	First  Occurrence = "First"
	Second Occurrence = "Second"
	Third  Occurrence = "Third"
	Fourth Occurrence = "Fourth"
	Last   Occurrence = "Last"
)

// MonthlyOccurrence is "the Occurrence Day of the month", e.g. last Friday.
type MonthlyOccurrence struct {
	Occurrence Occurrence   `json:"occurrence"`
	Day        time.Weekday `json:"day"`
}

// Spec is what a schedule says. The zero Expiry means never.
type Spec struct {
	Start     time.Time
	Expiry    time.Time
	Frequency Frequency
	Interval  int
	TimeZone  string // IANA name; "" is UTC
	WeekDays  []time.Weekday
	MonthDays []int // 1..31, or -1 for the last day of the month
	// MonthlyOccurrences are used for Month when MonthDays is empty.
	MonthlyOccurrences []MonthlyOccurrence
}

// maxPeriods bounds the search for a month that has one of the days asked
// for: the 29th of February every 12 months takes up to 8 years.
const maxPeriods = 1000

// Schedule is a checked Spec with its time zone loaded.
type Schedule struct {
	spec Spec
	loc  *time.Location
	// start is spec.Start in loc; its wall clock is every occurrence's.
	start time.Time
}

// ParseFrequency returns the frequency named s (case-insensitive).
func ParseFrequency(s string) (Frequency, error) {
	for _, f := range []Frequency{OneTime, Hour, Day, Week, Month} {
		if strings.EqualFold(s, string(f)) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown frequency %q: want OneTime, Hour, Day, Week or Month", s)
}

// ParseOccurrence returns the occurrence named s (case-insensitive).
func ParseOccurrence(s string) (Occurrence, error) {
	for _, o := range []Occurrence{First, Second, Third, Fourth, Last} {
		if strings.EqualFold(s, string(o)) {
			return o, nil
		}
	}
	return "", fmt.Errorf("unknown occurrence %q: want First, Second, Third, Fourth or Last", s)
}

// ParseWeekday returns the weekday named s ("Monday", "mon", case-insensitive).
func ParseWeekday(s string) (time.Weekday, error) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		n := d.String()
		if len(s) >= 3 && len(s) <= len(n) && strings.EqualFold(s, n[:len(s)]) {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown weekday %q", s)
}

// New checks spec and loads its time zone.
func New(spec Spec) (*Schedule, error) {
	if spec.Start.IsZero() {
		return nil, errors.New("a schedule needs a start time")
	}
	if _, err := ParseFrequency(string(spec.Frequency)); err != nil {
		return nil, err
	}
	if spec.Frequency == OneTime {
		spec.Interval = 1
	}
	if spec.Interval < 1 || spec.Interval > 1000 {
		return nil, fmt.Errorf("interval %d is outside 1..1000", spec.Interval)
	}
	if !spec.Expiry.IsZero() && !spec.Expiry.After(spec.Start) {
		return nil, errors.New("the expiry must be after the start")
	}
	loc, err := time.LoadLocation(spec.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", spec.TimeZone)
	}
	if len(spec.WeekDays) > 0 && spec.Frequency != Week {
		return nil, errors.New("week days are for a Week schedule")
	}
	if (len(spec.MonthDays) > 0 || len(spec.MonthlyOccurrences) > 0) && spec.Frequency != Month {
		return nil, errors.New("month days and occurrences are for a Month schedule")
	}
	if len(spec.MonthDays) > 0 && len(spec.MonthlyOccurrences) > 0 {
		return nil, errors.New("a Month schedule has month days or occurrences, not both")
	}
	for _, d := range spec.WeekDays {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("week day %d is outside 0..6", d)
		}
	}
	for _, d := range spec.MonthDays {
		if d != -1 && (d < 1 || d > 31) {
			return nil, fmt.Errorf("month day %d is outside 1..31 (or -1 for the last day)", d)
		}
	}
	for _, o := range spec.MonthlyOccurrences {
		if _, err := ParseOccurrence(string(o.Occurrence)); err != nil {
			return nil, err
		}
		if o.Day < time.Sunday || o.Day > time.Saturday {
			return nil, fmt.Errorf("week day %d is outside 0..6", o.Day)
		}
	}
	return &Schedule{spec: spec, loc: loc, start: spec.Start.In(loc)}, nil
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first occurrence strictly after after, or the zero time
// when there is none (a one-time schedule that has run, an expired one).
func (s *Schedule) Next(after time.Time) time.Time {
	t := s.next(after)
	if t.IsZero() || (!s.spec.Expiry.IsZero() && t.After(s.spec.Expiry)) {
		return time.Time{}
	}
	return t
}

func (s *Schedule) next(after time.Time) time.Time {
	start := s.spec.Start
	n := s.spec.Interval
	switch s.spec.Frequency {
	case OneTime:
		if start.After(after) {
			return start
		}
		return time.Time{}
	case Hour:
		if start.After(after) {
			return start
		}
		step := time.Duration(n) * time.Hour
		k := after.Sub(start)/step + 1
		return start.Add(k * step)
	case Day:
		return s.scan(after, func(period int) []date {
			return []date{s.startDate().addDays(period * n)}
		}, daysBetween(s.startDate(), dateOf(after.In(s.loc)))/n)
	case Week:
		days := s.spec.WeekDays
		if len(days) == 0 {
			days = []time.Weekday{s.start.Weekday()}
		}
		monday := s.startDate().monday()
		return s.scan(after, func(period int) []date {
			first := monday.addDays(period * n * 7)
			var out []date
			for _, d := range days {
				out = append(out, first.addDays((int(d)+6)%7))
			}
			return out
		}, daysBetween(monday, dateOf(after.In(s.loc)))/7/n)
	case Month:
		sd := s.startDate()
		a := dateOf(after.In(s.loc))
		months := (a.y*12 + int(a.m) - 1) - (sd.y*12 + int(sd.m) - 1)
		return s.scan(after, func(period int) []date {
			return s.monthDates(sd.addMonths(period * n))
		}, months/n)
	}
	return time.Time{}
}

// scan walks the periods from about the one holding after and returns the
// first occurrence after both after and the start.
func (s *Schedule) scan(after time.Time, dates func(period int) []date, approx int) time.Time {
	from := max(approx-1, 0)
	sd := s.startDate()
	for period := from; period < from+maxPeriods; period++ {
		var best time.Time
		for _, d := range dates(period) {
			if d.before(sd) {
				continue
			}
			t := s.at(d)
			if t.Before(s.spec.Start) || !t.After(after) {
				continue
			}
			if best.IsZero() || t.Before(best) {
				best = t
			}
		}
		if !best.IsZero() {
			return best
		}
		if !s.spec.Expiry.IsZero() && len(dates(period)) > 0 && s.at(dates(period)[0]).After(s.spec.Expiry.AddDate(0, 1, 0)) {
			return time.Time{}
		}
	}
	return time.Time{}
}

// monthDates lists the days of the month holding m (its y and m) that the
// schedule runs on, leaving out the days the month lacks.
func (s *Schedule) monthDates(m date) []date {
	last := daysIn(m.y, m.m)
	var out []date
	switch {
	case len(s.spec.MonthlyOccurrences) > 0:
		for _, o := range s.spec.MonthlyOccurrences {
			if d := occurrenceDay(m.y, m.m, o); d > 0 {
				out = append(out, date{m.y, m.m, d})
			}
		}
	case len(s.spec.MonthDays) > 0:
		for _, d := range s.spec.MonthDays {
			if d == -1 {
				d = last
			}
			if d <= last {
				out = append(out, date{m.y, m.m, d})
			}
		}
	default:
		if d := s.start.Day(); d <= last {
			out = append(out, date{m.y, m.m, d})
		}
	}
	return out
}

// occurrenceDay is the day of the month of o in y-m, 0 if there is none.
func occurrenceDay(y int, m time.Month, o MonthlyOccurrence) int {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
	d := 1 + (int(o.Day)-int(first)+7)%7
	if o.Occurrence == Last {
		last := daysIn(y, m)
		for d+7 <= last {
			d += 7
		}
		return d
	}
	idx := slices.Index([]Occurrence{First, Second, Third, Fourth}, o.Occurrence)
	return d + 7*idx
}

func (s *Schedule) startDate() date { return dateOf(s.start) }

// at is the instant the schedule's wall clock reads the start's time of
// day on d: the first of two when the clock is set back, and the end of
// the gap when the clock skips it.
func (s *Schedule) at(d date) time.Time {
	h, mi, sec := s.start.Clock()
	ns := s.start.Nanosecond()
	return Resolve(d.y, d.m, d.d, h, mi, sec, ns, s.loc)
}

// Resolve returns the instant the wall clock in loc reads the given date
// and time. A wall time shown twice (clocks set back) resolves to its first
// instant; a wall time that never shows (clocks set forward) to the first
// valid instant after the gap.
func Resolve(y int, m time.Month, d, h, mi, sec, ns int, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, h, mi, sec, ns, time.UTC)
	_, offBefore := wall.Add(-26 * time.Hour).In(loc).Zone()
	_, offAfter := wall.Add(26 * time.Hour).In(loc).Zone()
	_, offHere := time.Date(y, m, d, h, mi, sec, ns, loc).Zone()
	var best time.Time
	for _, off := range []int{offBefore, offAfter, offHere} {
		t := wall.Add(-time.Duration(off) * time.Second)
		if sameWall(t.In(loc), wall) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if !best.IsZero() {
		return best.In(loc)
	}
	// In the gap: wall minus the offset before it lands after the gap;
	// the zone that starts there starts at the gap's end.
	t := wall.Add(-time.Duration(min(offBefore, offAfter)) * time.Second).In(loc)
	startOfZone, _ := t.ZoneBounds()
	if startOfZone.IsZero() {
		return t
	}
	return startOfZone.In(loc)
}

func sameWall(t, wall time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := wall.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && t.Hour() == wall.Hour() &&
		t.Minute() == wall.Minute() && t.Second() == wall.Second() && t.Nanosecond() == wall.Nanosecond()
}

// date is a civil date.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date { y, m, d := t.Date(); return date{y, m, d} }

func (d date) utc() time.Time { return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC) }

func (d date) addDays(n int) date { return dateOf(d.utc().AddDate(0, 0, n)) }

// addMonths returns the first of the month n months after d's.
func (d date) addMonths(n int) date {
	return dateOf(time.Date(d.y, d.m+time.Month(n), 1, 0, 0, 0, 0, time.UTC))
}

func (d date) monday() date { return d.addDays(-((int(d.utc().Weekday()) + 6) % 7)) }

func (d date) before(e date) bool { return d.utc().Before(e.utc()) }

func daysBetween(a, b date) int {
	n := int(b.utc().Sub(a.utc()) / (24 * time.Hour))
	return max(n, 0)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
