-- Types of real schemas: bit/varbit, arrays COPY must send with the column's element type
-- (varchar[], char(n)[], arrays of enums, of domains, of bit), extension types sqlx decodes.

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
