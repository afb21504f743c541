-- People, sessions and the audit log (issue 12).

-- The directory user a credential acts for ('' when bound to no one).
ALTER TABLE credentials ADD COLUMN user_upn TEXT NOT NULL DEFAULT '';

-- The directory object a job acts on; all NULL when none.
ALTER TABLE jobs ADD COLUMN target_kind TEXT;
ALTER TABLE jobs ADD COLUMN target_id TEXT;
ALTER TABLE jobs ADD COLUMN target_name TEXT;

-- Local sign-in accounts. upn_key is the UPN folded by Go
-- (runbooker.UPNKey), so both engines agree on what is a duplicate.
CREATE TABLE users (
	tenant_id     TEXT NOT NULL,
	id            TEXT NOT NULL PRIMARY KEY,
	upn           TEXT NOT NULL,
	upn_key       TEXT NOT NULL,
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	UNIQUE (tenant_id, upn_key)
);

-- Sign-in sessions, keyed by the SHA-256 of their token. groups is a JSON
-- array of the groups the sign-in named, '' for none.
CREATE TABLE sessions (
	id_hash      TEXT NOT NULL PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL DEFAULT '',
	upn          TEXT NOT NULL,
	upn_key      TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	method       TEXT NOT NULL,
	groups       TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (tenant_id, upn_key);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- The audit log: one hash chain per tenant (see runbooker.AuditEntry).
-- The primary key is the chain's last line of defence: two appends that
-- both read the same last entry cannot both be stored.
CREATE TABLE audit_log (
	tenant_id  TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	time       INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	actor_kind TEXT NOT NULL,
	surface    TEXT NOT NULL,
	action     TEXT NOT NULL,
	object     TEXT NOT NULL,
	detail     TEXT NOT NULL,
	source     TEXT NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL,
	PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
CREATE INDEX audit_log_time ON audit_log (tenant_id, time);
