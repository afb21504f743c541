package storeutil

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/runbooker/runbooker"
)

// recurrence is the JSON text of a schedule's recurrence column.
type recurrence struct {
	Frequency          string                         `json:"frequency"`
	Interval           int                            `json:"interval"`
	TimeZone           string                         `json:"timeZone"`
	WeekDays           []string                       `json:"weekDays,omitempty"`
	MonthDays          []int                          `json:"monthDays,omitempty"`
	MonthlyOccurrences []runbooker.ScheduleOccurrence `json:"monthlyOccurrences,omitempty"`
}

// ScheduleColumns are the columns of a schedule, in ScanSchedule's order.
const ScheduleColumns = `tenant_id, name, description, start_time, expiry_time, recurrence, enabled, created_at, last_modified_at`

// EncodeRecurrence returns the recurrence column of s.
func EncodeRecurrence(s *runbooker.Schedule) (string, error) {
	if s.TenantID == "" || s.Name == "" {
		return "", runbooker.Errorf(runbooker.EINVALID, "schedule: tenant and name are required")
	}
	b, err := json.Marshal(recurrence{s.Frequency, s.Interval, s.TimeZone, s.WeekDays, s.MonthDays, s.MonthlyOccurrences})
	return string(b), err
}

// DecodeRecurrence fills s's recurrence from the column's text.
func DecodeRecurrence(s *runbooker.Schedule, text string) error {
	var r recurrence
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return fmt.Errorf("schedule %s: stored recurrence: %w", s.Name, err)
	}
	s.Frequency, s.Interval, s.TimeZone = r.Frequency, r.Interval, r.TimeZone
	s.WeekDays, s.MonthDays, s.MonthlyOccurrences = r.WeekDays, r.MonthDays, r.MonthlyOccurrences
	return nil
}

// JobScheduleColumns are the columns of a job schedule, in each engine's scan order.
const JobScheduleColumns = `id, tenant_id, schedule_name, runbook_name, parameters, run_on, next_run_at, created_by, created_at`

// CheckJobSchedule checks a job schedule before it is written and returns
// its parameters as stored.
func CheckJobSchedule(js *runbooker.JobSchedule) (string, error) {
	if js.ID == "" || js.TenantID == "" || js.ScheduleName == "" || js.RunbookName == "" {
		return "", runbooker.Errorf(runbooker.EINVALID, "job schedule: id, tenant, schedule and runbook are required")
	}
	b, err := runbooker.EncodeParameters(js.Parameters)
	if err != nil {
		return "", runbooker.Errorf(runbooker.EINVALID, "job schedule: parameters: %v", err)
	}
	return string(b), nil
}

// Qualified prefixes each column of a comma-separated list with alias.
func Qualified(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
