-- Schedules and job schedules (issue 15). A schedule's recurrence
-- (frequency, interval, time zone, week and month days, occurrences) is
-- JSON text read by storeutil; a job schedule's next_run_at is the
-- occurrence it fires next, moved on by a compare-and-set so that each
-- occurrence fires once across servers and restarts.
CREATE TABLE schedules (
	tenant_id        TEXT NOT NULL,
	name             TEXT NOT NULL,
	description      TEXT NOT NULL DEFAULT '',
	start_time       BIGINT NOT NULL,
	expiry_time      BIGINT,
	recurrence       TEXT NOT NULL,
	enabled          BOOLEAN NOT NULL,
	created_at       BIGINT NOT NULL,
	last_modified_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

CREATE TABLE job_schedules (
	id            TEXT NOT NULL PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	schedule_name TEXT NOT NULL,
	runbook_name  TEXT NOT NULL,
	parameters    TEXT NOT NULL,
	run_on        TEXT NOT NULL DEFAULT '',
	next_run_at   BIGINT,
	created_by    TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	FOREIGN KEY (tenant_id, schedule_name) REFERENCES schedules (tenant_id, name) ON DELETE CASCADE
);
CREATE INDEX job_schedules_due ON job_schedules (next_run_at) WHERE next_run_at IS NOT NULL;
CREATE INDEX job_schedules_schedule ON job_schedules (tenant_id, schedule_name);

-- The schedule that started a job, and whether it ran late for missed occurrences.
ALTER TABLE jobs ADD COLUMN schedule_name TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN catch_up BOOLEAN NOT NULL DEFAULT false;
