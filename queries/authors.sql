-- Authors: every cardinality but :stream, named and nullable parameters, dates.

-- name: CreateAuthor :one
-- Adds an author and returns its generated id.
INSERT INTO authors (name, email, bio, born)
VALUES (@name, @email?, @bio?, @born?)
RETURNING author_id;

-- name: GetAuthor :one
-- One author by id; `NotFound` when there is none.
SELECT author_id, name, email, bio, born, created_at
FROM authors
WHERE author_id = $1;

-- name: FindAuthorByEmail :opt
SELECT author_id, name FROM authors WHERE email = sqlc.arg(email);

-- name: ListAuthors :many
-- Every author, by name.
SELECT author_id, name, email FROM authors ORDER BY name, author_id;

-- name: UpdateAuthorBio :exec
UPDATE authors SET bio = sqlc.narg(bio) WHERE author_id = sqlc.arg(author_id);

-- name: DeleteAuthorsWithoutBooks :execrows
-- Removes authors who have no books; returns how many went.
DELETE FROM authors a
WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.author_id = a.author_id);
