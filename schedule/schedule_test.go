package schedule

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// occurrences lists the first n occurrences after from.
func occurrences(s *Schedule, from time.Time, n int) []time.Time {
	var out []time.Time
	for range n {
		from = s.Next(from)
		if from.IsZero() {
			break
		}
		out = append(out, from)
	}
	return out
}

func TestNext(t *testing.T) {
	utc := time.UTC
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	d := func(loc *time.Location, y int, m time.Month, day, h, mi int) time.Time {
		return time.Date(y, m, day, h, mi, 0, 0, loc)
	}
	tests := []struct {
		name string
		spec Spec
		from time.Time
		want []time.Time
	}{
		{"one time", Spec{Start: d(utc, 2026, 1, 5, 9, 0), Frequency: OneTime},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 5, 9, 0)}},
		{"one time past", Spec{Start: d(utc, 2026, 1, 5, 9, 0), Frequency: OneTime},
			d(utc, 2026, 1, 5, 9, 0), nil},
		{"every 3 hours", Spec{Start: d(utc, 2026, 1, 5, 9, 0), Frequency: Hour, Interval: 3},
			d(utc, 2026, 1, 5, 10, 0), []time.Time{d(utc, 2026, 1, 5, 12, 0), d(utc, 2026, 1, 5, 15, 0), d(utc, 2026, 1, 5, 18, 0)}},
		{"hourly across spring forward is real hours", Spec{Start: d(berlin, 2026, 3, 29, 0, 30), Frequency: Hour, Interval: 1, TimeZone: "Europe/Berlin"},
			d(berlin, 2026, 3, 29, 0, 30), []time.Time{d(berlin, 2026, 3, 29, 1, 30), d(berlin, 2026, 3, 29, 3, 30), d(berlin, 2026, 3, 29, 4, 30)}},
		{"every 2 days", Spec{Start: d(utc, 2026, 1, 30, 6, 0), Frequency: Day, Interval: 2},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 30, 6, 0), d(utc, 2026, 2, 1, 6, 0), d(utc, 2026, 2, 3, 6, 0)}},
		{"daily from mid-day", Spec{Start: d(utc, 2026, 1, 1, 6, 0), Frequency: Day, Interval: 1},
			d(utc, 2026, 3, 10, 7, 0), []time.Time{d(utc, 2026, 3, 11, 6, 0)}},
		{"weekly Mon and Fri", Spec{Start: d(utc, 2026, 1, 7, 8, 0), Frequency: Week, Interval: 1, WeekDays: []time.Weekday{time.Monday, time.Friday}},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 9, 8, 0), d(utc, 2026, 1, 12, 8, 0), d(utc, 2026, 1, 16, 8, 0)}},
		{"every 2 weeks on Sunday", Spec{Start: d(utc, 2026, 1, 5, 8, 0), Frequency: Week, Interval: 2, WeekDays: []time.Weekday{time.Sunday}},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 11, 8, 0), d(utc, 2026, 1, 25, 8, 0), d(utc, 2026, 2, 8, 8, 0)}},
		{"weekly default day is the start's", Spec{Start: d(utc, 2026, 1, 7, 8, 0), Frequency: Week, Interval: 1},
			d(utc, 2026, 1, 7, 8, 0), []time.Time{d(utc, 2026, 1, 14, 8, 0)}},
		{"monthly on the 31st skips short months", Spec{Start: d(utc, 2026, 1, 31, 4, 0), Frequency: Month, Interval: 1, MonthDays: []int{31}},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 31, 4, 0), d(utc, 2026, 3, 31, 4, 0), d(utc, 2026, 5, 31, 4, 0), d(utc, 2026, 7, 31, 4, 0), d(utc, 2026, 8, 31, 4, 0)}},
		{"monthly default day 30 skips February", Spec{Start: d(utc, 2026, 1, 30, 4, 0), Frequency: Month, Interval: 1},
			d(utc, 2026, 1, 30, 4, 0), []time.Time{d(utc, 2026, 3, 30, 4, 0)}},
		{"monthly last day", Spec{Start: d(utc, 2026, 1, 1, 4, 0), Frequency: Month, Interval: 1, MonthDays: []int{-1}},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 31, 4, 0), d(utc, 2026, 2, 28, 4, 0), d(utc, 2026, 3, 31, 4, 0)}},
		{"29 Feb every 12 months", Spec{Start: d(utc, 2024, 2, 29, 4, 0), Frequency: Month, Interval: 12},
			d(utc, 2024, 2, 29, 4, 0), []time.Time{d(utc, 2028, 2, 29, 4, 0)}},
		{"every 3 months on 1st and 15th", Spec{Start: d(utc, 2026, 1, 1, 4, 0), Frequency: Month, Interval: 3, MonthDays: []int{15, 1}},
			d(utc, 2026, 1, 1, 5, 0), []time.Time{d(utc, 2026, 1, 15, 4, 0), d(utc, 2026, 4, 1, 4, 0), d(utc, 2026, 4, 15, 4, 0)}},
		{"last Friday", Spec{Start: d(utc, 2026, 1, 1, 17, 0), Frequency: Month, Interval: 1, MonthlyOccurrences: []MonthlyOccurrence{{Last, time.Friday}}},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 30, 17, 0), d(utc, 2026, 2, 27, 17, 0), d(utc, 2026, 3, 27, 17, 0), d(utc, 2026, 4, 24, 17, 0), d(utc, 2026, 5, 29, 17, 0)}},
		{"first Monday", Spec{Start: d(utc, 2026, 1, 1, 9, 0), Frequency: Month, Interval: 1, MonthlyOccurrences: []MonthlyOccurrence{{First, time.Monday}}},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 5, 9, 0), d(utc, 2026, 2, 2, 9, 0), d(utc, 2026, 3, 2, 9, 0)}},
		{"Berlin spring forward 02:30 runs at 03:00", Spec{Start: d(berlin, 2026, 3, 27, 2, 30), Frequency: Day, Interval: 1, TimeZone: "Europe/Berlin"},
			d(berlin, 2026, 3, 27, 12, 0), []time.Time{d(berlin, 2026, 3, 28, 2, 30), d(berlin, 2026, 3, 29, 3, 0), d(berlin, 2026, 3, 30, 2, 30)}},
		{"Berlin fall back 02:30 runs once, first", Spec{Start: d(berlin, 2026, 10, 23, 2, 30), Frequency: Day, Interval: 1, TimeZone: "Europe/Berlin"},
			d(berlin, 2026, 10, 24, 12, 0), []time.Time{time.Date(2026, 10, 25, 0, 30, 0, 0, utc), d(berlin, 2026, 10, 26, 2, 30)}},
		{"New York spring forward 02:30 runs at 03:00", Spec{Start: d(ny, 2026, 3, 1, 2, 30), Frequency: Day, Interval: 1, TimeZone: "America/New_York"},
			d(ny, 2026, 3, 7, 12, 0), []time.Time{d(ny, 2026, 3, 8, 3, 0), d(ny, 2026, 3, 9, 2, 30)}},
		{"New York fall back 01:30 runs once, first", Spec{Start: d(ny, 2026, 10, 1, 1, 30), Frequency: Day, Interval: 1, TimeZone: "America/New_York"},
			d(ny, 2026, 10, 31, 12, 0), []time.Time{time.Date(2026, 11, 1, 5, 30, 0, 0, utc), d(ny, 2026, 11, 2, 1, 30)}},
		{"New York weekly keeps local time over DST", Spec{Start: d(ny, 2026, 3, 2, 9, 0), Frequency: Week, Interval: 1, TimeZone: "America/New_York"},
			d(ny, 2026, 3, 2, 9, 0), []time.Time{time.Date(2026, 3, 9, 13, 0, 0, 0, utc), time.Date(2026, 3, 16, 13, 0, 0, 0, utc)}},
		{"expiry stops it", Spec{Start: d(utc, 2026, 1, 1, 6, 0), Expiry: d(utc, 2026, 1, 3, 6, 0), Frequency: Day, Interval: 1},
			d(utc, 2026, 1, 1, 0, 0), []time.Time{d(utc, 2026, 1, 1, 6, 0), d(utc, 2026, 1, 2, 6, 0), d(utc, 2026, 1, 3, 6, 0)}},
		{"expiry before a monthly skip", Spec{Start: d(utc, 2026, 1, 31, 6, 0), Expiry: d(utc, 2026, 3, 1, 0, 0), Frequency: Month, Interval: 1},
			d(utc, 2026, 1, 31, 6, 0), nil},
		{"hourly expiry", Spec{Start: d(utc, 2026, 1, 1, 6, 0), Expiry: d(utc, 2026, 1, 1, 7, 30), Frequency: Hour, Interval: 1},
			d(utc, 2026, 1, 1, 6, 0), []time.Time{d(utc, 2026, 1, 1, 7, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := occurrences(s, tt.from, len(tt.want)+1)
			// Expiring and one-time schedules must stop exactly; the others
			// are compared over the occurrences listed.
			if tt.spec.Expiry.IsZero() && tt.spec.Frequency != OneTime && len(got) > len(tt.want) {
				got = got[:len(tt.want)]
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("occurrence %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range []Spec{
		{Frequency: Day, Interval: 1},
		{Start: start, Frequency: "Yearly", Interval: 1},
		{Start: start, Frequency: Day, Interval: 0},
		{Start: start, Frequency: Day, Interval: 1, TimeZone: "Mars/Olympus"},
		{Start: start, Frequency: Day, Interval: 1, WeekDays: []time.Weekday{time.Monday}},
		{Start: start, Frequency: Month, Interval: 1, MonthDays: []int{32}},
		{Start: start, Frequency: Day, Interval: 1, Expiry: start},
	} {
		if _, err := New(spec); err == nil {
			t.Errorf("New(%+v) accepted", spec)
		}
	}
}

func TestParseWeekday(t *testing.T) {
	for in, want := range map[string]time.Weekday{"Monday": time.Monday, "thursday": time.Thursday, "SAT": time.Saturday, "sun": time.Sunday} {
		if got, err := ParseWeekday(in); err != nil || got != want {
			t.Errorf("ParseWeekday(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "Mo", "Mondays", "Funday"} {
		if _, err := ParseWeekday(in); err == nil {
			t.Errorf("ParseWeekday(%q) accepted", in)
		}
	}
}
