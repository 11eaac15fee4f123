-- name: ServerInfo :one
-- The database connected to and the server's version string.
SELECT current_database()::text AS "database!", version() AS "version!";
