-- Job listings by each filter of JobFilter (ListJobs): each index holds the
-- filter's column after the tenant, then the listing order, created_at and
-- the row id (implicit at the end of every SQLite index), so a filtered page
-- is one range of an index however long the history grows, and a filter
-- that matches nothing costs one seek instead of a walk of every job.
-- runbook_name, run_on and caller never change once a job is stored, so
-- their indexes cost a write only when a job is created or purged; status
-- changes with every state change, and its index with it.
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status, created_at);
CREATE INDEX jobs_tenant_runbook ON jobs (tenant_id, runbook_name, created_at);
CREATE INDEX jobs_tenant_run_on ON jobs (tenant_id, run_on, created_at);
CREATE INDEX jobs_tenant_caller ON jobs (tenant_id, caller, created_at);
