-- Applied before this case is prepared, and by the scratch binary before it runs the case:
-- full-text search columns, which sqlx has no Rust type for.
CREATE TABLE tsv_docs (
    doc_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title   text       NOT NULL,
    body    tsvector   NOT NULL,
    history tsvector[],
    note    tsvector
);
