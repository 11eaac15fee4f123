-- name: GetAuthorName :one
-- A scalar: one column comes back as its value, not a row struct.
SELECT name FROM authors WHERE author_id = @author_id;

-- name: FindAuthor :opt
SELECT author_id, name, bio FROM authors WHERE email = @email;

-- name: ListAuthorNames :many
SELECT name FROM authors ORDER BY name;

-- name: TouchCounter :exec
UPDATE counters SET value = value + 1 WHERE name = @name;

-- name: ResetCounters :execrows
UPDATE counters SET value = 0;

-- name: StreamCounters :stream
SELECT name, value FROM counters ORDER BY name;

-- name: CopyCounters :copyfrom
INSERT INTO counters (name, value) VALUES (@name, @value);
