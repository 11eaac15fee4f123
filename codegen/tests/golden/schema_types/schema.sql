-- Applied (after the test fixtures' migrations) before this case is prepared, and by the
-- scratch binary before it runs the case: a job-queue-like table with the types real
-- schemas have and pgtide used to refuse.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE DOMAIN short_label AS varchar(20);
CREATE TABLE jobs (
    job_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flags  bit(8)       NOT NULL,
    mask   varbit,
    names  varchar[]    NOT NULL,
    codes  char(2)[],
    genres book_genre[] NOT NULL,
    isbns  isbn13[]     NOT NULL,
    labels short_label[],
    bits   bit(8)[],
    email  citext,
    attrs  hstore
);
CREATE TABLE places (
    place_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path     ltree NOT NULL,
    extent   cube
);
