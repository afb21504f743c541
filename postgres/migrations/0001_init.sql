-- Runbooker schema for PostgreSQL, version 1: the SQLite engine's schema
-- (its migrations 0001 and 0002) in PostgreSQL's types. Times are bigint
-- Unix nanoseconds (UTC); absent times are NULL. JSON documents are stored
-- as text, verbatim.

CREATE TABLE tenants (
	id         text PRIMARY KEY,
	created_at bigint NOT NULL
);

CREATE TABLE credentials (
	id          text PRIMARY KEY,
	tenant_id   text NOT NULL,
	name        text NOT NULL,
	role        text NOT NULL,
	secret_hash text NOT NULL,
	created_at  bigint NOT NULL
);
CREATE INDEX credentials_tenant ON credentials (tenant_id, created_at);

CREATE TABLE settings (
	tenant_id  text NOT NULL,
	key        text NOT NULL,
	value      bytea NOT NULL,
	updated_at bigint NOT NULL,
	PRIMARY KEY (tenant_id, key)
);

-- Every version of every script, kept forever so a job can always show the
-- source it ran. Content-addressed per tenant.
CREATE TABLE runbook_contents (
	tenant_id  text NOT NULL,
	version    text NOT NULL,
	content    bytea NOT NULL,
	created_at bigint NOT NULL,
	PRIMARY KEY (tenant_id, version)
);

CREATE TABLE runbooks (
	tenant_id     text NOT NULL,
	name          text NOT NULL,
	language      text NOT NULL,
	version       text NOT NULL,
	scope         text NOT NULL,
	category      text NOT NULL,
	default_group text NOT NULL,
	source_id     text NOT NULL,
	meta          text NOT NULL,
	created_at    bigint NOT NULL,
	updated_at    bigint NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

-- pk increases with insertion order: stream records and cursors use it.
CREATE TABLE jobs (
	pk               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id               text NOT NULL UNIQUE,
	tenant_id        text NOT NULL,
	runbook_name     text NOT NULL,
	runbook_version  text NOT NULL,
	language         text NOT NULL,
	parameters       text NOT NULL,
	run_on           text NOT NULL,
	caller           text NOT NULL,
	status           text NOT NULL,
	status_reason    text NOT NULL DEFAULT '',
	exception        text NOT NULL DEFAULT '',
	attempt          integer NOT NULL DEFAULT 0,
	lost_count       integer NOT NULL DEFAULT 0,
	worker_id        text NOT NULL DEFAULT '',
	created_at       bigint NOT NULL,
	started_at       bigint,
	ended_at         bigint,
	last_modified_at bigint NOT NULL,
	lease_expires_at bigint
);
-- The queue: only New jobs are in it, so it stays small however long the
-- history grows. Claims walk it oldest first.
CREATE INDEX jobs_queue ON jobs (run_on, created_at, pk) WHERE status = 'New';
-- Attempts holding a lease, for the rescuer.
CREATE INDEX jobs_lease ON jobs (lease_expires_at)
	WHERE status IN ('Activating', 'Running', 'Stopping');
-- Listing, newest first, per tenant, with the (created_at, pk) cursor.
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at, pk);
-- The retention purge: terminal jobs by end time.
CREATE INDEX jobs_ended ON jobs (ended_at) WHERE status IN ('Completed', 'Failed', 'Stopped');

-- Stream records by job and sequence: appends are in key order and reads
-- are range scans.
CREATE TABLE stream_records (
	job_pk bigint NOT NULL,
	seq    bigint NOT NULL,
	time   bigint NOT NULL,
	type   text NOT NULL,
	text   text NOT NULL,
	value  text,
	PRIMARY KEY (job_pk, seq)
);

CREATE TABLE worker_groups (
	tenant_id      text NOT NULL,
	name           text NOT NULL,
	token_hash     text NOT NULL,
	default_hybrid boolean NOT NULL,
	run_as         text NOT NULL,
	max_runtime    bigint NOT NULL, -- nanoseconds
	capacity       integer NOT NULL,
	powershell     text NOT NULL,
	suspend_after  bigint NOT NULL, -- nanoseconds
	created_at     bigint NOT NULL,
	PRIMARY KEY (tenant_id, name)
);
-- A registration token names one group in the whole install.
CREATE UNIQUE INDEX worker_groups_token ON worker_groups (token_hash) WHERE token_hash <> '';

CREATE TABLE workers (
	id            text PRIMARY KEY,
	tenant_id     text NOT NULL,
	group_name    text NOT NULL,
	name          text NOT NULL,
	secret_hash   text NOT NULL,
	version       text NOT NULL,
	os            text NOT NULL,
	arch          text NOT NULL,
	hostname      text NOT NULL,
	registered_at bigint NOT NULL,
	last_seen_at  bigint,
	FOREIGN KEY (tenant_id, group_name) REFERENCES worker_groups (tenant_id, name)
);
CREATE INDEX workers_group ON workers (tenant_id, group_name);

CREATE TABLE assets (
	tenant_id   text NOT NULL,
	type        text NOT NULL,
	name        text NOT NULL,
	description text NOT NULL,
	encrypted   boolean NOT NULL,
	key_id      text NOT NULL,
	value       bytea NOT NULL,
	updated_at  bigint NOT NULL,
	PRIMARY KEY (tenant_id, type, name)
);
CREATE INDEX assets_encrypted ON assets (tenant_id) WHERE encrypted;
