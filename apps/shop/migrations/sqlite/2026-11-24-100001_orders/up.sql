CREATE TABLE orders (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    total_cents      BIGINT  NOT NULL CHECK (total_cents >= 0),
    currency         TEXT    NOT NULL CHECK (length(currency) = 3),
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'paid', 'shipped', 'cancelled')),
    placed_at        TIMESTAMP NOT NULL,
    client_reference TEXT    NOT NULL UNIQUE
);
CREATE INDEX orders_customer_placed ON orders (customer_id, placed_at);
