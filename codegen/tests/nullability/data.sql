-- Data that makes every nullable result column of the corpus NULL at least once.
INSERT INTO users VALUES
    (1, 'ann@example.com', 'Ann', 30, 'ann', NULL),
    (2, 'bob@example.com', NULL, NULL, 'bob', 1),
    (3, 'cy@example.com', 'Cy', NULL, 'cy', 1);
INSERT INTO posts VALUES
    (10, 1, 'Hello', 'first', 5),
    (11, 1, 'World', NULL, 0),
    (12, NULL, 'Orphan', NULL, 1);
INSERT INTO tags VALUES
    (100, 10, 'rust', 1),
    (101, 10, 'sql', NULL);
ANALYZE;
