-- Loans: inet, smallint, timestamps, a type override.

-- name: LendBook :one
INSERT INTO loans (book_id, borrower, client_addr)
VALUES (@book_id, @borrower, @client_addr?)
RETURNING loan_id, loaned_at;

-- name: ReturnBook :execrows
UPDATE loans SET returned_at = now(), rating = @rating? WHERE loan_id = @loan_id AND returned_at IS NULL;

-- name: OpenLoans :many
-- Loans not returned yet. `rating` is read as `i32` through an override.
SELECT l.loan_id, b.title, l.borrower, l.client_addr, l.loaned_at,
       l.rating::int4 AS "rating: i32", now() - l.loaned_at AS "lent_for!"
FROM loans l
JOIN books b USING (book_id)
WHERE l.returned_at IS NULL
ORDER BY l.loaned_at;
