-- Azure's "Log verbose records", per runbook, on by default (as RealmJoin
-- shows verbose records); a job keeps the setting it was created with.
ALTER TABLE runbooks ADD COLUMN log_verbose INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN log_verbose INTEGER NOT NULL DEFAULT 1;
