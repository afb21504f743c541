-- Webhooks (issue 15): a secret URL that starts a job of one runbook. Only
-- the SHA-256 of the token is kept; calls are looked up by it.
CREATE TABLE webhooks (
	id           TEXT NOT NULL PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	name         TEXT NOT NULL,
	runbook_name TEXT NOT NULL,
	parameters   TEXT NOT NULL DEFAULT '', -- JSON object of fixed parameters, '' for none
	run_on       TEXT NOT NULL DEFAULT '',
	enabled      bigint NOT NULL,
	expires_at   bigint NOT NULL,
	created_at   bigint NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE,
	UNIQUE (tenant_id, name)
);
