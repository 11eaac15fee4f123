-- Tables for golden/embed (applied after the fixtures' migrations).
CREATE TABLE owners (
    owner_id bigint PRIMARY KEY,
    name     text NOT NULL,
    nickname text
);

CREATE TABLE pets (
    pet_id   bigint PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES owners,
    name     text   NOT NULL,
    born     date
);

-- No NOT NULL column: an absent row is one whose columns are all NULL.
CREATE TABLE pet_notes (
    pet_name text,
    body     text
);
