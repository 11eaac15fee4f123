-- name: Positional :many
-- Positional parameters are named after the column they are compared with.
SELECT author_id FROM authors WHERE name = $1 AND author_id > $2 AND $3::int4 > 0;

-- name: NamedRepeatedNullable :many
SELECT author_id FROM authors
WHERE (name = @name OR email = @name) AND bio IS NOT DISTINCT FROM @bio?;

-- name: SqlcMacros :exec
UPDATE authors SET bio = sqlc.narg(bio), email = sqlc.arg('email') WHERE author_id = sqlc.arg(author_id);

-- name: manyParams :one
-- snake or camel names both work; five parameters make a params struct; `type` is a keyword.
INSERT INTO authors (name, email, bio, born, created_at)
VALUES (@name, @email?, @type?, @born?, @created_at)
RETURNING author_id, created_at;

-- name: Move :opt
-- A keyword name makes a raw identifier (`r#move`); `AS "n: _"` keeps the inferred type.
SELECT author_id AS "n: _" FROM authors WHERE author_id = @author_id AND name <> 'Zoë';
