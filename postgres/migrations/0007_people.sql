-- People, sessions and the audit log (issue 12).

-- The directory user a credential acts for ('' when bound to no one).
ALTER TABLE credentials ADD COLUMN user_upn text NOT NULL DEFAULT '';

-- The directory object a job acts on; all NULL when none.
ALTER TABLE jobs ADD COLUMN target_kind text;
ALTER TABLE jobs ADD COLUMN target_id text;
ALTER TABLE jobs ADD COLUMN target_name text;

-- Local sign-in accounts. upn_key is the UPN folded by Go
-- (runbooker.UPNKey), so both engines agree on what is a duplicate.
CREATE TABLE users (
	tenant_id     text NOT NULL,
	id            text NOT NULL PRIMARY KEY,
	upn           text NOT NULL,
	upn_key       text NOT NULL,
	display_name  text NOT NULL DEFAULT '',
	password_hash text NOT NULL DEFAULT '',
	disabled      boolean NOT NULL DEFAULT false,
	created_at    bigint NOT NULL,
	updated_at    bigint NOT NULL,
	UNIQUE (tenant_id, upn_key)
);

-- Sign-in sessions, keyed by the SHA-256 of their token. groups is a JSON
-- array of the groups the sign-in named, '' for none.
CREATE TABLE sessions (
	id_hash      text NOT NULL PRIMARY KEY,
	tenant_id    text NOT NULL,
	user_id      text NOT NULL DEFAULT '',
	upn          text NOT NULL,
	upn_key      text NOT NULL,
	display_name text NOT NULL DEFAULT '',
	method       text NOT NULL,
	groups       text NOT NULL DEFAULT '',
	created_at   bigint NOT NULL,
	last_seen_at bigint NOT NULL,
	expires_at   bigint NOT NULL
);
CREATE INDEX sessions_user ON sessions (tenant_id, upn_key);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- The audit log: one hash chain per tenant (see runbooker.AuditEntry).
-- The primary key is the chain's last line of defence: two appends that
-- both read the same last entry cannot both be stored.
CREATE TABLE audit_log (
	tenant_id  text NOT NULL,
	seq        bigint NOT NULL,
	time       bigint NOT NULL,
	actor      text NOT NULL,
	actor_kind text NOT NULL,
	surface    text NOT NULL,
	action     text NOT NULL,
	object     text NOT NULL,
	detail     text NOT NULL,
	source     text NOT NULL,
	prev_hash  text NOT NULL,
	hash       text NOT NULL,
	PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_time ON audit_log (tenant_id, time);
