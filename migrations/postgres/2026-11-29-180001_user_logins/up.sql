-- One row per login (a session that logged in): a session is logged in only while its row
-- exists, so logging out ends it on every session store, and "log out everywhere" deletes
-- the user's rows.
CREATE TABLE user_logins (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- hex SHA-256 of the login's id; the id itself is only in the session
    key_hash   TEXT      NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX user_logins_user_id ON user_logins (user_id);
