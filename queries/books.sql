-- Books: enums, arrays, json, uuid, numeric, timestamps, a domain, streaming and COPY.

-- name: CreateBook :one
-- Adds a book. Six parameters, so the function takes a `CreateBookParams`.
INSERT INTO books (author_id, title, isbn, genre, tags, price, metadata, published_at)
VALUES (@author_id, @title, @isbn?, @genre, @tags, @price?, @metadata, @published_at?)
RETURNING book_id, genre, price;

-- name: GetBook :opt
SELECT book_id, author_id, title, isbn, genre, tags, price, pages, metadata, published_at
FROM books
WHERE book_id = @book_id;

-- name: ListBooksByGenre :many
-- Books of any of the given genres (an array of an enum), newest first.
SELECT book_id, title, genre, tags
FROM books
WHERE genre = ANY (@genres)
ORDER BY published_at DESC NULLS LAST, title;

-- name: ListBooksWithAuthors :many
-- Every book with its author's name. The `LEFT JOIN` makes the author side nullable in the
-- metadata; `"author_name?"` says so explicitly, `"title!"` overrides the other way.
SELECT b.title AS "title!", a.name AS "author_name?", b.price
FROM books b
LEFT JOIN authors a ON a.author_id = b.author_id AND a.bio IS NOT NULL
ORDER BY b.title;

-- name: StreamBooks :stream
-- Every book, streamed row by row.
SELECT book_id, title, metadata FROM books ORDER BY title;

-- name: CopyBooks :copyfrom
-- Bulk insert through binary COPY; `isbn` and `price` may be NULL.
INSERT INTO books (author_id, title, isbn, genre, tags, price, metadata)
VALUES (@author_id, @title, @isbn?, @genre, @tags, @price?, @metadata);

-- name: TagBook :execrows
UPDATE books SET tags = array_append(tags, @tag) WHERE book_id = @book_id;

-- name: BookStats :one
-- Aggregates; `count` is never null, the others are when there are no books.
SELECT count(*) AS "books!", sum(price) AS total_price, max(published_at) AS latest
FROM books
WHERE author_id = @author_id;
