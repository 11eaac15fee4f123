-- Types of real schemas: bit/varbit, arrays COPY must send with the column's element type
-- (varchar[], char(n)[], arrays of enums, of domains, of bit), extension types sqlx decodes
-- (citext, hstore, ltree, lquery, cube).

-- name: CopyJobs :copyfrom
INSERT INTO jobs (flags, mask, names, codes, genres, isbns, labels, bits, email, attrs)
VALUES (@flags, @mask?, @names, @codes?, @genres, @isbns, @labels?, @bits?, @email?, @attrs?);

-- name: ListJobs :many
SELECT job_id, flags, mask, names, codes, genres, isbns, labels, bits, email, attrs
FROM jobs
ORDER BY job_id;

-- name: JobsByEmail :many
-- `citext` compares case-insensitively: the parameter is sent as `citext`, not `text`.
SELECT job_id FROM jobs WHERE email = @email ORDER BY job_id;

-- name: SetFlags :execrows
UPDATE jobs SET flags = @flags, attrs = @attrs WHERE job_id = @job_id;

-- name: AddPlace :one
INSERT INTO places (path, extent) VALUES (@path, @extent?)
RETURNING place_id, path, extent;

-- name: PlacesMatching :many
-- `ltree` paths matching an `lquery`, which also comes back as a column.
SELECT place_id, path, extent, @pattern::lquery AS pattern
FROM places
WHERE path ~ @pattern::lquery
ORDER BY place_id;
