-- What a worker says of itself: its state (draining, stopped; empty while
-- it claims) and the languages it has an interpreter for ("" when it never
-- said, "-" for none, else comma-separated).
ALTER TABLE workers ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE workers ADD COLUMN languages TEXT NOT NULL DEFAULT '';
