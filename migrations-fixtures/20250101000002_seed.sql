-- Reference data every database starts with.
INSERT INTO counters (name, value) VALUES ('visits', 0), ('loans', 0);
