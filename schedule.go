package runbooker

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// Schedule says when something recurs, in Azure Automation's model: a
// start, an optional expiry, a frequency (OneTime, Hour, Day, Week, Month)
// with an interval, an IANA time zone, week days for Week, and month days
// or monthly occurrences ("Last Friday") for Month. The recurrence math is
// package schedule's; this is what is stored and sent.
type Schedule struct {
	TenantID    string    `json:"tenantId"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	StartTime   time.Time `json:"startTime"`
	ExpiryTime  time.Time `json:"expiryTime,omitzero"`
	Frequency   string    `json:"frequency"`
	Interval    int       `json:"interval"`
	TimeZone    string    `json:"timeZone"`
	// WeekDays are English day names ("Monday"), for Week.
	WeekDays []string `json:"weekDays,omitempty"`
	// MonthDays are 1..31 or -1 (the last day), for Month.
	MonthDays []int `json:"monthDays,omitempty"`
	// MonthlyOccurrences are used for Month when MonthDays is empty.
	MonthlyOccurrences []ScheduleOccurrence `json:"monthlyOccurrences,omitempty"`
	Enabled            bool                 `json:"isEnabled"`
	CreatedAt          time.Time            `json:"createdAt"`
	LastModifiedAt     time.Time            `json:"lastModifiedAt"`
	// NextRun is the schedule's next occurrence; computed, not stored.
	NextRun time.Time `json:"nextRun,omitzero"`
}

// ScheduleOccurrence is a weekday's place in a month: "First".."Fourth"
// or "Last", and the day's English name.
type ScheduleOccurrence struct {
	Occurrence string `json:"occurrence"`
	Day        string `json:"day"`
}

// JobSchedule links a runbook to a schedule with the parameters and the
// worker group of the jobs it starts. NextRunAt is the occurrence it fires
// next (zero: none left); servers claim an occurrence by moving it on
// with a compare-and-set (ScheduleStore.AdvanceJobSchedule).
type JobSchedule struct {
	ID           string         `json:"id"`
	TenantID     string         `json:"tenantId"`
	ScheduleName string         `json:"scheduleName"`
	RunbookName  string         `json:"runbookName"`
	Parameters   map[string]any `json:"parameters"`
	RunOn        string         `json:"runOn,omitempty"`
	NextRunAt    time.Time      `json:"nextRunAt,omitzero"`
	CreatedBy    string         `json:"createdBy,omitempty"`
	CreatedAt    time.Time      `json:"createdAt"`
}

// AdvanceParams moves a job schedule from the occurrence it fires to the
// next one, only if no one has moved it yet.
type AdvanceParams struct {
	TenantID string
	ID       string
	From     time.Time // the occurrence being fired (the stored NextRunAt)
	To       time.Time // the following occurrence; zero for none
}

// ScheduleStore persists schedules and job schedules. Names and ids are
// tenant-scoped.
type ScheduleStore interface {
	// PutSchedule creates or replaces the schedule of that name, keeping
	// CreatedAt of an existing one.
	PutSchedule(ctx context.Context, s *Schedule) error
	Schedule(ctx context.Context, tenantID, name string) (*Schedule, error)
	// ListSchedules returns the tenant's schedules ordered by name.
	ListSchedules(ctx context.Context, tenantID string) ([]Schedule, error)
	// DeleteSchedule deletes the schedule and its job schedules.
	DeleteSchedule(ctx context.Context, tenantID, name string) error
	// PutJobSchedule creates or replaces the job schedule of js.ID; its
	// schedule must exist (else ENOTFOUND).
	PutJobSchedule(ctx context.Context, js *JobSchedule) error
	JobSchedule(ctx context.Context, tenantID, id string) (*JobSchedule, error)
	// ListJobSchedules returns the tenant's job schedules, only those of
	// scheduleName when it is not empty, ordered by schedule and runbook.
	ListJobSchedules(ctx context.Context, tenantID, scheduleName string) ([]JobSchedule, error)
	DeleteJobSchedule(ctx context.Context, tenantID, id string) error
	// DueJobSchedules returns up to limit job schedules of every tenant
	// whose NextRunAt is at or before now and whose schedule is enabled,
	// the most overdue first.
	DueJobSchedules(ctx context.Context, now time.Time, limit int) ([]JobSchedule, error)
	// AdvanceJobSchedule sets NextRunAt to p.To if it is still p.From and
	// reports whether it did: of several servers firing one occurrence,
	// exactly one wins.
	AdvanceJobSchedule(ctx context.Context, p AdvanceParams) (bool, error)
}

// ScheduledJobID is the id of the job a job schedule starts for one
// occurrence: the same on every server, so that creating it twice fails
// instead of running the occurrence twice.
func ScheduledJobID(jobScheduleID string, occurrence time.Time) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%d", jobScheduleID, occurrence.UnixNano()))
	h[6] = h[6]&0x0f | 0x80 // version 8: custom
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
