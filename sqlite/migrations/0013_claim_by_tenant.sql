-- A claim limited to one tenant (a hybrid worker's) reads the tenant's New
-- jobs of the group, oldest first. With jobs_queue (run_on, created_at)
-- alone, the planner took the listing index jobs_tenant_run_on instead and
-- walked the group's whole history, finished jobs first, to the oldest New
-- one: a claim cost grew with every job the group ever ran (0.37 ms with
-- 2,200 finished jobs). This index holds New jobs only, as jobs_queue does.
CREATE INDEX jobs_queue_tenant ON jobs (tenant_id, run_on, created_at) WHERE status = 'New';
