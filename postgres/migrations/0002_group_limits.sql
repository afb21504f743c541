-- Per-job resource limits of a worker group (0: the worker's default), and
-- settings rows for the built-in group "cloud" (token_hash '': no worker
-- registers with it).
ALTER TABLE worker_groups ADD COLUMN memory_limit bigint NOT NULL DEFAULT 0; -- bytes
ALTER TABLE worker_groups ADD COLUMN max_processes integer NOT NULL DEFAULT 0;
ALTER TABLE worker_groups ADD COLUMN cpu_weight integer NOT NULL DEFAULT 0;
