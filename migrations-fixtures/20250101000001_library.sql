-- A small library catalogue used by the tests, the demo and the example queries.
-- It deliberately touches the types applications rely on: an enum, text[], jsonb, uuid,
-- timestamptz, numeric, inet, a domain, nullable and non-null columns, a foreign key and
-- unique constraints.

CREATE TYPE book_genre AS ENUM ('fiction', 'non_fiction', 'poetry', 'reference');

CREATE DOMAIN isbn13 AS text CHECK (VALUE ~ '^[0-9]{13}$');

CREATE TABLE authors (
    author_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    email       text        UNIQUE,
    bio         text,
    born        date,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE books (
    book_id      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    author_id    bigint      NOT NULL REFERENCES authors (author_id) ON DELETE CASCADE,
    title        text        NOT NULL,
    isbn         isbn13      UNIQUE,
    genre        book_genre  NOT NULL DEFAULT 'fiction',
    tags         text[]      NOT NULL DEFAULT '{}',
    price        numeric(10, 2),
    pages        integer     CHECK (pages > 0),
    metadata     jsonb       NOT NULL DEFAULT '{}',
    published_at timestamptz,
    CONSTRAINT books_author_title_key UNIQUE (author_id, title)
);

CREATE INDEX books_author_id_idx ON books (author_id);

CREATE TABLE loans (
    loan_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id     uuid        NOT NULL REFERENCES books (book_id),
    borrower    text        NOT NULL,
    client_addr inet,
    loaned_at   timestamptz NOT NULL DEFAULT now(),
    returned_at timestamptz,
    rating      smallint    CHECK (rating BETWEEN 1 AND 5)
);

-- A plain counter table for retry and concurrency tests.
CREATE TABLE counters (
    name  text   PRIMARY KEY,
    value bigint NOT NULL DEFAULT 0
);
