DROP INDEX users_username_trgm;
DROP INDEX orders_client_reference_trgm;
-- The extension stays: other objects may use it.
