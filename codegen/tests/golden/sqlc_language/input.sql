/* name: CountersNow :one */
-- sqlc's block-comment annotation starts a query like `-- name:` does.
SELECT now() AS at;

/* name: ResetCounter :execresult */
UPDATE counters SET value = 0 WHERE name = @name;

-- name: CounterRows :many
-- No columns: each row is `()`, and `:many` still counts them.
SELECT FROM counters;

-- name: AuthorsWithBooks :many
-- Two columns named `author_id`: the second becomes `author_id_2`, with a warning.
SELECT a.author_id, a.name, b.author_id, b.title
FROM authors a JOIN books b ON b.author_id = a.author_id;

-- name: CountersNamed :many
-- `IN (sqlc.slice(names))` becomes `= ANY($1)`: one array parameter.
SELECT name FROM counters WHERE name IN (sqlc.slice(names)) ORDER BY name;
