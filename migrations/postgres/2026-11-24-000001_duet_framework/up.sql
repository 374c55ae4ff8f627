-- duet framework tables (PostgreSQL). Timestamps are UTC, `timestamp without time zone`.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT      NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    email         TEXT      NOT NULL DEFAULT '',
    password_hash TEXT      NOT NULL,
    is_active     BOOLEAN   NOT NULL DEFAULT TRUE,
    is_staff      BOOLEAN   NOT NULL DEFAULT FALSE,
    is_superuser  BOOLEAN   NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- hex SHA-256 of the token; the token itself is never stored
    key_hash   TEXT      NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE webhook_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    provider    TEXT      NOT NULL,
    delivery_id TEXT      NOT NULL,
    received_at TIMESTAMP NOT NULL,
    status      TEXT      NOT NULL CHECK (status IN ('processing', 'done')),
    UNIQUE (provider, delivery_id)
);
