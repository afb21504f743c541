package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/runbooker/runbooker"
)

// Schedules lists the tenant's schedules with their next runs.
func (c *Client) Schedules(ctx context.Context) ([]runbooker.Schedule, error) {
	var out ScheduleList
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/schedules", nil, &out)
	return out.Schedules, err
}

// Schedule returns one schedule with its next run.
func (c *Client) Schedule(ctx context.Context, name string) (*runbooker.Schedule, error) {
	var out runbooker.Schedule
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/schedules/"+url.PathEscape(name), nil, &out)
	return &out, err
}

// PutSchedule creates or replaces the schedule s.Name.
func (c *Client) PutSchedule(ctx context.Context, s runbooker.Schedule) (*runbooker.Schedule, error) {
	var out runbooker.Schedule
	_, err := c.doJSON(ctx, http.MethodPut, "/api/v1/schedules/"+url.PathEscape(s.Name), s, &out)
	return &out, err
}

// DeleteSchedule deletes a schedule and its job schedules.
func (c *Client) DeleteSchedule(ctx context.Context, name string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/schedules/"+url.PathEscape(name), nil, nil)
	return err
}

// DefaultSchedules creates Hourly, Daily, Weekly and Monthly where missing
// and returns the ones it created.
func (c *Client) DefaultSchedules(ctx context.Context) ([]runbooker.Schedule, error) {
	var out ScheduleList
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/schedules/defaults", struct{}{}, &out)
	return out.Schedules, err
}

// JobSchedules lists the job schedules, of one schedule when schedule is set.
func (c *Client) JobSchedules(ctx context.Context, schedule string) ([]runbooker.JobSchedule, error) {
	var out JobScheduleList
	_, err := c.doJSON(ctx, http.MethodGet, "/api/v1/jobschedules?schedule="+url.QueryEscape(schedule), nil, &out)
	return out.JobSchedules, err
}

// Link links a runbook to a schedule.
func (c *Client) Link(ctx context.Context, req LinkRequest) (*runbooker.JobSchedule, error) {
	var out runbooker.JobSchedule
	_, err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobschedules", req, &out)
	return &out, err
}

// Unlink deletes a job schedule.
func (c *Client) Unlink(ctx context.Context, id string) error {
	_, err := c.doJSON(ctx, http.MethodDelete, "/api/v1/jobschedules/"+url.PathEscape(id), nil, nil)
	return err
}
