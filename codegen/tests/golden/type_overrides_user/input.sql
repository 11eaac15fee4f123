-- `codegen.types` maps `tsvector` to a type of the user's (types.txt), which implements
-- sqlx's `Type`, `Decode` and `Encode`: used as it is, arrays too, and no casts.

-- name: InsertLexemeDoc :one
INSERT INTO lexeme_docs (body, history) VALUES (@body, @history) RETURNING doc_id, body, history;

-- name: LexemeBodies :many
SELECT body FROM lexeme_docs WHERE body = ANY(@bodies) ORDER BY doc_id;
