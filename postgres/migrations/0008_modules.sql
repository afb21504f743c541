-- Uploaded PowerShell modules and Python wheels (issue 14). A record per
-- (tenant, kind, name, version); name_key is runbooker.ModuleNameKey,
-- computed in Go. Content is kept once per (tenant, sha256) and removed
-- with the last record that points at it.
CREATE TABLE module_contents (
	tenant_id  TEXT NOT NULL,
	sha256     TEXT NOT NULL,
	content    bytea NOT NULL,
	PRIMARY KEY (tenant_id, sha256)
);

CREATE TABLE modules (
	tenant_id   TEXT NOT NULL,
	kind        TEXT NOT NULL,
	name_key    TEXT NOT NULL,
	name        TEXT NOT NULL,
	version     TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	size        bigint NOT NULL,
	file_name   TEXT NOT NULL DEFAULT '',
	requires    TEXT NOT NULL DEFAULT '', -- a wheel's Requires-Dist names, one a line (name or name==version)
	uploaded_at bigint NOT NULL,
	PRIMARY KEY (tenant_id, kind, name_key, version)
);
CREATE INDEX modules_sha ON modules (tenant_id, sha256);
