-- Worker groups, workers and assets.

CREATE TABLE worker_groups (
	tenant_id      TEXT NOT NULL,
	name           TEXT NOT NULL,
	token_hash     TEXT NOT NULL,
	default_hybrid INTEGER NOT NULL,
	run_as         TEXT NOT NULL,
	max_runtime    INTEGER NOT NULL, -- nanoseconds
	capacity       INTEGER NOT NULL,
	powershell     TEXT NOT NULL,
	suspend_after  INTEGER NOT NULL, -- nanoseconds
	created_at     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
);
-- A registration token names one group in the whole install.
CREATE UNIQUE INDEX worker_groups_token ON worker_groups (token_hash) WHERE token_hash <> '';

CREATE TABLE workers (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL,
	group_name    TEXT NOT NULL,
	name          TEXT NOT NULL,
	secret_hash   TEXT NOT NULL,
	version       TEXT NOT NULL,
	os            TEXT NOT NULL,
	arch          TEXT NOT NULL,
	hostname      TEXT NOT NULL,
	registered_at INTEGER NOT NULL,
	last_seen_at  INTEGER,
	FOREIGN KEY (tenant_id, group_name) REFERENCES worker_groups (tenant_id, name)
);
CREATE INDEX workers_group ON workers (tenant_id, group_name);

CREATE TABLE assets (
	tenant_id   TEXT NOT NULL,
	type        TEXT NOT NULL,
	name        TEXT NOT NULL,
	description TEXT NOT NULL,
	encrypted   INTEGER NOT NULL,
	key_id      TEXT NOT NULL,
	value       BLOB NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, type, name)
);
CREATE INDEX assets_encrypted ON assets (tenant_id) WHERE encrypted;
