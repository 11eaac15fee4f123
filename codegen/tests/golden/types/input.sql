-- name: EveryType :one
-- Every built-in type pgtide maps, an enum, an enum array and a domain, in and out.
SELECT @b::bool AS b, @i2::int2 AS i2, @i4::int4 AS i4, @i8::int8 AS i8,
       @f4::float4 AS f4, @f8::float8 AS f8, @t::text AS t, @vc::varchar AS vc,
       @bytes::bytea AS bytes, @u::uuid AS u, @j::json AS j, @jb::jsonb AS jb,
       @d::date AS d, @tm::time AS tm, @ts::timestamp AS ts, @tz::timestamptz AS tz,
       @iv::interval AS iv, @n::numeric AS n, @ip::inet AS ip, @c::cidr AS c,
       @mac::macaddr AS mac, @macs::macaddr[] AS macs, @ch::"char" AS ch, @nm::name AS nm,
       @bp::bpchar AS bp,
       @m::money AS m, @o::oid AS o, @ia::int4[] AS "ia!", @ta::text[] AS ta,
       @g::book_genre AS g, @ga::book_genre[] AS ga, @isbn::isbn13 AS isbn,
       @ttz::timetz AS ttz, @r4::int4range AS r4, @r8::int8range AS r8, @rn::numrange AS rn,
       @rts::tsrange AS rts, @rtz::tstzrange AS rtz, @rd::daterange AS rd, @ra::int4range[] AS ra,
       @pt::point AS pt, @ln::line AS ln, @ls::lseg AS ls, @bx::box AS bx, @pa::path AS pa,
       @pg::polygon AS pg, @ci::circle AS ci;

-- name: Overrides :one
SELECT b.title AS "title?", count(*) AS "n!", b.pages AS "pages: i64", b.price AS "price!: pgtide::sqlx::types::Decimal"
FROM books b GROUP BY b.title, b.pages, b.price;
