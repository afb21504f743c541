-- Job listings by each filter of JobFilter (ListJobs): each index holds the
-- filter's column after the tenant, then the listing order (created_at, pk),
-- so a filtered page is one range of an index however long the history
-- grows, and a filter that matches nothing costs one descent instead of a
-- walk of every job. Every state change of a job already writes a new
-- entry into each of its indexes (status is in the partial indexes'
-- predicates, so no update is HOT): each index here adds one entry per
-- state change.
CREATE INDEX jobs_tenant_status ON jobs (tenant_id, status, created_at, pk);
CREATE INDEX jobs_tenant_runbook ON jobs (tenant_id, runbook_name, created_at, pk);
CREATE INDEX jobs_tenant_run_on ON jobs (tenant_id, run_on, created_at, pk);
CREATE INDEX jobs_tenant_caller ON jobs (tenant_id, caller, created_at, pk);
