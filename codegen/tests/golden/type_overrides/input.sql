-- `codegen.types` maps `tsvector` and `tsquery` to `String` (types.txt): sqlx reads and
-- sends them in binary, so the generated statements carry text casts.

-- name: InsertTsvDoc :one
INSERT INTO tsv_docs (title, body, history)
VALUES (@title, @body, @history?)
RETURNING doc_id, body, history;

-- name: SearchTsvDocs :many
-- A `$1` inside a literal or a comment is left alone: '$1'. Newest first: the wrapper the
-- casts need keeps the query's order.
SELECT doc_id, title, body, note, '$1' AS dollar
FROM tsv_docs
WHERE body @@ @query -- matches $1
ORDER BY doc_id DESC;

-- name: GetTsvBody :one
SELECT body FROM tsv_docs WHERE doc_id = @doc_id;

-- name: SetTsvNote :execrows
UPDATE tsv_docs SET note = @note? WHERE doc_id = @doc_id;

-- name: CountTsvMatches :one
SELECT count(*) AS "n!" FROM tsv_docs WHERE body @@ to_tsquery('simple', @words);
