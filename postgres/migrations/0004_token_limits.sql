-- Limits of a worker group's registration token (issue 11 item 8): an
-- optional expiry (unix nanoseconds; NULL: never) and a maximum number of
-- registrations (0: no limit), and the registrations counted with the
-- current token (back to 0 when it is rotated).
ALTER TABLE worker_groups ADD COLUMN token_expires_at bigint;
ALTER TABLE worker_groups ADD COLUMN token_max_uses integer NOT NULL DEFAULT 0;
ALTER TABLE worker_groups ADD COLUMN token_uses integer NOT NULL DEFAULT 0;
