-- duet framework tables (SQLite). Timestamps are UTC, stored as ISO-8601 text.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    email         TEXT    NOT NULL DEFAULT '',
    password_hash TEXT    NOT NULL,
    is_active     BOOLEAN NOT NULL DEFAULT 1,
    is_staff      BOOLEAN NOT NULL DEFAULT 0,
    is_superuser  BOOLEAN NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- hex SHA-256 of the token; the token itself is never stored
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    provider    TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    received_at TIMESTAMP NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('processing', 'done')),
    UNIQUE (provider, delivery_id)
);
