-- Runbooker schema, version 1. Times are integer unix nanoseconds (UTC);
-- absent times are NULL. JSON documents are stored as text.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
);

CREATE TABLE credentials (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	name        TEXT NOT NULL,
	role        TEXT NOT NULL,
	secret_hash TEXT NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX credentials_tenant ON credentials (tenant_id, created_at);

CREATE TABLE settings (
	tenant_id  TEXT NOT NULL,
	key        TEXT NOT NULL,
	value      BLOB NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, key)
);

-- Every version of every script, kept forever so a job can always show the
-- source it ran. Content-addressed per tenant.
CREATE TABLE runbook_contents (
	tenant_id  TEXT NOT NULL,
	version    TEXT NOT NULL,
	content    BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, version)
);

CREATE TABLE runbooks (
	tenant_id     TEXT NOT NULL,
	name          TEXT NOT NULL,
	language      TEXT NOT NULL,
	version       TEXT NOT NULL,
	scope         TEXT NOT NULL,
	category      TEXT NOT NULL,
	default_group TEXT NOT NULL,
	source_id     TEXT NOT NULL,
	meta          TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

-- pk is the row id: stream records and cursors use it because it is small
-- and increases with insertion order.
CREATE TABLE jobs (
	pk               INTEGER PRIMARY KEY,
	id               TEXT NOT NULL UNIQUE,
	tenant_id        TEXT NOT NULL,
	runbook_name     TEXT NOT NULL,
	runbook_version  TEXT NOT NULL,
	language         TEXT NOT NULL,
	parameters       TEXT NOT NULL,
	run_on           TEXT NOT NULL,
	caller           TEXT NOT NULL,
	status           TEXT NOT NULL,
	status_reason    TEXT NOT NULL DEFAULT '',
	exception        TEXT NOT NULL DEFAULT '',
	attempt          INTEGER NOT NULL DEFAULT 0,
	lost_count       INTEGER NOT NULL DEFAULT 0,
	worker_id        TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	started_at       INTEGER,
	ended_at         INTEGER,
	last_modified_at INTEGER NOT NULL,
	lease_expires_at INTEGER
);
-- Every index costs a page write per job state change, which is most of
-- what a commit costs, so there are only three besides the id:
-- The queue: only New jobs are in it, so it stays small however long the
-- history grows. Claims walk it oldest first (a tenant's claim filters).
CREATE INDEX jobs_queue ON jobs (run_on, created_at) WHERE status = 'New';
-- Attempts holding a lease, for the rescuer.
CREATE INDEX jobs_lease ON jobs (lease_expires_at)
	WHERE status IN ('Activating', 'Running', 'Stopping');
-- Listing, newest first, per tenant; also the retention purge, since a job
-- that ended before a time was created before it.
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at);

-- Stream records, clustered by job and sequence: appends are in key order
-- and reads are range scans.
CREATE TABLE stream_records (
	job_pk INTEGER NOT NULL,
	seq    INTEGER NOT NULL,
	time   INTEGER NOT NULL,
	type   TEXT NOT NULL,
	text   TEXT NOT NULL,
	value  TEXT,
	PRIMARY KEY (job_pk, seq)
) WITHOUT ROWID;
