-- Applied before this case is prepared, and by the scratch binary before it runs the case.
CREATE TABLE lexeme_docs (
    doc_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body    tsvector   NOT NULL,
    history tsvector[] NOT NULL
);
