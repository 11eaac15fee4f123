-- Batches: the statement once per item in one transaction, per-item results, all or nothing.

-- name: AddCounters :batchexec
INSERT INTO counters (name, value) VALUES (@name, @value);

-- name: BumpCounters :batchone
-- The new value of each bumped counter; a missing counter fails the whole batch.
UPDATE counters SET value = value + @by WHERE name = @name RETURNING value;

-- name: CountersAbove :batchmany
SELECT name, value FROM counters WHERE value > @min ORDER BY name;
