-- The schema of the nullability corpus: nullable and non-null columns, a NOT NULL domain,
-- a self reference, views and a row with a NULL foreign key (for RIGHT and FULL joins).
CREATE DOMAIN handle AS text NOT NULL;
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    name text,
    age int,
    handle handle,
    manager_id bigint REFERENCES users (id)
);
CREATE TABLE posts (
    id bigint PRIMARY KEY,
    user_id bigint REFERENCES users (id),
    title text NOT NULL,
    body text,
    score int NOT NULL DEFAULT 0
);
CREATE TABLE tags (
    id bigint PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id),
    label text NOT NULL,
    weight int
);
CREATE VIEW user_posts AS
    SELECT u.id AS user_id, u.email, p.title, p.body
    FROM users u LEFT JOIN posts p ON p.user_id = u.id;
CREATE VIEW post_stats AS
    SELECT p.id, p.title, count(t.id) AS tag_count, max(t.weight) AS max_weight
    FROM posts p LEFT JOIN tags t ON t.post_id = p.id
    GROUP BY p.id, p.title;
CREATE VIEW active_posts AS
    SELECT up.user_id, up.title FROM user_posts up WHERE up.title IS NOT NULL;
