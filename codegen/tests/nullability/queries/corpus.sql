-- name: ListUsersWithPosts :many
-- The issue's query: sqlx reads the Hash Right Join backwards; pgtide does not.
SELECT u.id, u.email, p.title FROM users u LEFT JOIN posts p ON p.user_id = u.id WHERE u.email LIKE @pattern;

-- name: BaseColumns :many
SELECT id, email, name, age, handle FROM users;

-- name: RightJoin :many
SELECT u.id, u.email, p.id AS post_id, p.title FROM users u RIGHT JOIN posts p ON p.user_id = u.id;

-- name: FullJoin :many
SELECT u.id AS user_id, p.id AS post_id FROM users u FULL JOIN posts p ON p.user_id = u.id;

-- name: InnerJoin :many
SELECT u.email, p.title, p.body FROM users u JOIN posts p ON p.user_id = u.id;

-- name: TwoLeftJoins :many
SELECT u.id, p.title, t.label
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
LEFT JOIN tags t ON t.post_id = p.id;

-- name: LeftJoinOfNestedInner :many
SELECT u.id, p.title, t.label
FROM users u
LEFT JOIN (posts p JOIN tags t ON t.post_id = p.id) ON p.user_id = u.id;

-- name: InnerJoinAfterLeft :many
SELECT u.id, p.title, t.label
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
JOIN tags t ON t.post_id = p.id;

-- name: RightThenLeft :many
SELECT p.title, u.email, m.email AS manager_email
FROM users u
RIGHT JOIN posts p ON p.user_id = u.id
LEFT JOIN users m ON m.id = u.manager_id;

-- name: SelfJoin :many
SELECT u.email, m.email AS manager FROM users u LEFT JOIN users m ON m.id = u.manager_id;

-- name: CommaJoin :many
SELECT u.id, p.id AS post FROM users u, posts p WHERE p.user_id = u.id;

-- name: LeftJoinLateral :many
SELECT u.id, last.title
FROM users u
LEFT JOIN LATERAL (
    SELECT title FROM posts WHERE posts.user_id = u.id ORDER BY id DESC LIMIT 1
) last ON true;

-- name: CrossJoinLateral :many
SELECT u.id, c.n
FROM users u
CROSS JOIN LATERAL (SELECT count(*) AS n FROM posts WHERE posts.user_id = u.id) c;

-- name: LeftJoinSubquery :many
SELECT u.email, s.total
FROM users u
LEFT JOIN (SELECT user_id, sum(score) AS total FROM posts GROUP BY user_id) s ON s.user_id = u.id;

-- name: FromSubquery :many
SELECT s.user_id, s.n FROM (SELECT user_id, count(*) AS n FROM posts GROUP BY user_id) s;

-- name: CteBasic :many
WITH named AS (SELECT id, email FROM users WHERE name IS NOT NULL)
SELECT a.id, a.email FROM named a;

-- name: CteLeftJoin :many
WITH p AS (SELECT user_id, title FROM posts)
SELECT u.id, p.title FROM users u LEFT JOIN p ON p.user_id = u.id;

-- name: CteOfCte :many
WITH a AS (SELECT id, name FROM users),
     b AS (SELECT id, coalesce(name, 'anon') AS shown FROM a)
SELECT id, shown FROM b;

-- name: RecursiveCte :many
WITH RECURSIVE chain AS (
    SELECT id, manager_id, 1 AS depth FROM users WHERE manager_id IS NULL
    UNION ALL
    SELECT u.id, u.manager_id, c.depth + 1 FROM users u JOIN chain c ON u.manager_id = c.id
)
SELECT id, manager_id, depth FROM chain;

-- name: ViewColumns :many
SELECT user_id, email, title, body FROM user_posts;

-- name: ViewWithAggregates :many
SELECT id, title, tag_count, max_weight FROM post_stats;

-- name: ViewOfView :many
SELECT user_id, title FROM active_posts;

-- name: Literals :many
SELECT 1 AS one, 'x' AS x, true AS t, 1.5 AS f, NULL::text AS nothing;

-- name: Casts :many
SELECT '2024-01-01'::date AS d, 42::bigint AS n, CAST('7' AS int) AS i, name::varchar AS vname FROM users;

-- name: Arithmetic :many
SELECT id + 1 AS next, age * 2 AS double_age FROM users;

-- name: Concatenation :many
SELECT email || '!' AS loud, name || '!' AS loud_name FROM users;

-- name: Coalesce :many
SELECT coalesce(name, 'anon') AS shown, coalesce(name, NULL) AS maybe FROM users;

-- name: CaseExpressions :many
SELECT CASE WHEN age > 18 THEN 'adult' ELSE 'unknown' END AS grp,
       CASE WHEN age > 18 THEN 'adult' END AS adult,
       CASE WHEN age IS NULL THEN name ELSE 'x' END AS named
FROM users;

-- name: SimpleCase :many
SELECT CASE age WHEN 30 THEN 'thirty' ELSE 'other' END AS label FROM users;

-- name: Exists :many
SELECT u.id, EXISTS (SELECT 1 FROM posts p WHERE p.user_id = u.id) AS has_posts FROM users u;

-- name: InSubquery :many
SELECT id, id IN (SELECT user_id FROM posts) AS posted, id IN (SELECT id FROM posts) AS is_post_id FROM users;

-- name: InList :many
SELECT id IN (1, 2) AS small, age IN (1, 2) AS age_small FROM users;

-- name: AggregatesOverNoRows :many
SELECT count(*) AS n, count(name) AS named, sum(age) AS total, avg(age) AS mean,
       min(name) AS first_name, max(age) AS oldest
FROM users WHERE id > 100;

-- name: GroupedAggregates :many
SELECT user_id, count(*) AS n, array_agg(title) AS titles, string_agg(body, ',') AS bodies
FROM posts GROUP BY user_id;

-- name: GroupedSums :many
SELECT p.user_id, sum(p.score) AS total, max(p.body) AS last_body FROM posts p GROUP BY p.user_id;

-- name: WindowFunctions :many
SELECT id,
       row_number() OVER (ORDER BY id) AS rn,
       rank() OVER (ORDER BY score) AS rk,
       count(*) OVER () AS total,
       lag(title) OVER (ORDER BY id) AS prev,
       lead(id) OVER (ORDER BY id) AS next,
       first_value(body) OVER (ORDER BY id DESC) AS first_body,
       sum(length(body)) OVER (PARTITION BY user_id) AS body_length
FROM posts;

-- name: UnionAll :many
SELECT id, email AS label FROM users UNION ALL SELECT id, title FROM posts;

-- name: UnionNullable :many
SELECT id, name AS label FROM users UNION SELECT id, title FROM posts;

-- name: Intersect :many
SELECT id FROM users INTERSECT SELECT user_id FROM posts;

-- name: Except :many
SELECT id, name FROM users EXCEPT SELECT id, title FROM posts;

-- name: UnionWithNullLiteral :many
SELECT id, NULL::text AS extra FROM users UNION ALL SELECT id, title FROM posts;

-- name: WhereIsNotNull :many
SELECT id, name FROM users WHERE name IS NOT NULL;

-- name: WhereComparison :many
SELECT id, age FROM users WHERE age > 18;

-- name: LeftJoinWhereNotNull :many
SELECT u.id, p.title, p.body FROM users u LEFT JOIN posts p ON p.user_id = u.id WHERE p.id IS NOT NULL;

-- name: OrProvesNothing :many
SELECT id, name FROM users WHERE name IS NOT NULL OR age IS NULL;

-- name: ScalarSubqueries :many
SELECT u.id,
       (SELECT max(p.score) FROM posts p WHERE p.user_id = u.id) AS best,
       (SELECT count(*) FROM posts p WHERE p.user_id = u.id) AS n,
       (SELECT p.title FROM posts p WHERE p.user_id = u.id ORDER BY p.id LIMIT 1) AS first_title
FROM users u;

-- name: ArraySubquery :many
SELECT u.id, ARRAY(SELECT p.title FROM posts p WHERE p.user_id = u.id) AS titles FROM users u;

-- name: ParamEcho :many
SELECT id, @id::bigint AS echoed FROM users WHERE id = @id;

-- name: OptionalParam :many
SELECT id, sqlc.narg(min_id)::bigint AS min_id FROM users;

-- name: InsertReturning :many
INSERT INTO users (id, email, handle) VALUES (50, 'new@example.com', 'new')
RETURNING id, email, name, handle;

-- name: UpdateFromReturning :many
UPDATE posts p SET score = p.score + 1 FROM users u WHERE u.id = p.user_id
RETURNING p.id, p.body, u.email, u.manager_id;

-- name: DeleteUsingReturning :many
DELETE FROM tags t USING posts p WHERE p.id = t.post_id RETURNING t.id, t.weight, p.title;

-- name: WithInsert :many
WITH fresh AS (SELECT 60::bigint AS id)
INSERT INTO posts (id, user_id, title) SELECT id, NULL, 'cte' FROM fresh
RETURNING id, user_id, body;

-- name: DeleteInCte :many
WITH gone AS (DELETE FROM tags WHERE weight IS NULL RETURNING id, weight, label)
SELECT id, weight, label FROM gone;

-- name: UpdateSetNull :many
UPDATE users SET name = NULL WHERE name IS NOT NULL AND id = 1 RETURNING id, name;

-- name: NonNullFunctions :many
SELECT lower(email) AS e, upper(name) AS n, length(email) AS len, now() AS at,
       gen_random_uuid() AS uid
FROM users;

-- name: NullableFunctions :many
SELECT nullif(age, 30) AS not_thirty, (regexp_match(email, 'zzz'))[1] AS nomatch,
       greatest(age, NULL) AS g
FROM users;

-- name: VariadicText :many
SELECT concat(name, '!') AS c, concat_ws(',', email, name) AS cw, format('%s', name) AS f FROM users;

-- name: Json :many
SELECT json_build_object('id', id, 'name', name) AS obj, to_jsonb(name) AS j FROM users;

-- name: PatternMatches :many
SELECT id BETWEEN 1 AND 2 AS low, name LIKE 'A%' AS a_name, email ILIKE '%EXAMPLE%' AS ex FROM users;

-- name: Distinct :many
SELECT DISTINCT user_id FROM posts ORDER BY user_id;

-- name: ValuesList :many
SELECT * FROM (VALUES (1, 'a'), (2, NULL)) AS v (n, s);

-- name: StarOverLeftJoin :many
SELECT u.*, p.title FROM users u LEFT JOIN posts p ON p.user_id = u.id;

-- name: StarOfOuterSide :many
SELECT p.*, t.label FROM posts p LEFT JOIN tags t ON t.post_id = p.id;

-- name: Rollup :many
SELECT user_id, count(*) AS n FROM posts GROUP BY ROLLUP (user_id);

-- name: Overrides :many
SELECT name AS "name!", email AS "email?" FROM users WHERE name IS NOT NULL;

-- name: NotExists :many
SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.user_id = u.id);

-- name: LeftJoinCoalesce :many
SELECT u.id, coalesce(p.title, '(none)') AS title FROM users u LEFT JOIN posts p ON p.user_id = u.id;

-- name: CountOverLeftJoin :many
SELECT u.id, count(p.id) AS posts FROM users u LEFT JOIN posts p ON p.user_id = u.id GROUP BY u.id;

-- name: DateFunctions :many
SELECT date_trunc('day', '2024-01-01 10:00'::timestamp) AS day, extract(year FROM '2024-01-01'::date) AS y;

-- name: FullJoinCoalesce :many
SELECT coalesce(u.id, p.user_id, 0) AS any_id, p.title FROM users u FULL JOIN posts p ON p.user_id = u.id;

-- name: DomainColumn :many
SELECT u.handle, m.handle AS manager_handle FROM users u LEFT JOIN users m ON m.id = u.manager_id;

-- name: FunctionInFrom :many
SELECT g FROM generate_series(1, 3) g;

-- name: GroupByEmptySet :many
SELECT sum(age) AS total, array_agg(id) AS ids FROM users WHERE id > 100 GROUP BY ();

-- name: SeriesLateral :many
-- generate_series is strict: a NULL bound (u.age) gives no rows, never a NULL one.
SELECT u.id, s FROM users u CROSS JOIN LATERAL generate_series(1, u.age) AS s;

-- name: SeriesWithOrdinality :many
SELECT v, n FROM generate_series(10, 12) WITH ORDINALITY AS g (v, n);

-- name: SeriesLeftJoined :many
SELECT u.id, g FROM users u LEFT JOIN generate_series(1, 2) AS g ON g = u.id;

-- name: UnnestLiteral :many
SELECT x FROM unnest(ARRAY['a', 'b']) AS x;

-- name: UnnestWithNull :many
SELECT x FROM unnest(ARRAY['a', NULL]) AS x;
