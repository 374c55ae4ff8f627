CREATE TABLE items (
    id         BIGSERIAL PRIMARY KEY,
    owner_id   BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    slug       TEXT      NOT NULL UNIQUE,
    note       TEXT      NOT NULL DEFAULT '',
    price      BIGINT    NOT NULL,
    size       TEXT      NOT NULL DEFAULT 'small',
    weight     BIGINT,
    archived   BOOLEAN   NOT NULL DEFAULT FALSE,
    due        DATE,
    extra      TEXT      NOT NULL,
    count      BIGINT    NOT NULL,
    made_at    TIMESTAMP NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    token      TEXT      NOT NULL
);
CREATE INDEX items_owner_made ON items (owner_id, made_at);
