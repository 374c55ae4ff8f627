-- The admin's search on orders is Django's default `icontains`: `lower(client_reference)
-- LIKE '%…%'`, and the customers by `lower(username) LIKE '%…%'`. A B-tree cannot serve a
-- pattern with a leading wildcard; a trigram GIN index can (what Django's documentation
-- advises for `search_fields` on PostgreSQL). Hand-written: makemigrations does not model
-- expression indexes, and schema_drift ignores indexes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX orders_client_reference_trgm ON orders USING gin (lower(client_reference) gin_trgm_ops);
CREATE INDEX users_username_trgm ON users USING gin (lower(username) gin_trgm_ops);
