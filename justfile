# duet — common tasks. `just --list` shows them.

# Services for `test-all`; override to point elsewhere.
postgres_url := env_var_or_default("DUET_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
redis_url := env_var_or_default("DUET_TEST_REDIS_URL", "redis://127.0.0.1:6379")
chromedriver := env_var_or_default("DUET_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
nginx := env_var_or_default("DUET_TEST_NGINX", "/usr/sbin/nginx")

# Run the demo shop on http://127.0.0.1:8000 (embedded SQLite).
run:
    cargo run -p shop

# The README test command: SQLite only; service-backed tests say they were skipped.
test:
    cargo test --workspace

# Every test, against PostgreSQL and Redis too.
test-all:
    DUET_TEST_POSTGRES_URL={{postgres_url}} DUET_TEST_REDIS_URL={{redis_url}} DUET_TEST_CHROMEDRIVER={{chromedriver}} DUET_TEST_NGINX={{nginx}} DUET_TEST_SMTP_PYTHON=python3 DUET_TEST_SOAK_SECONDS=20 cargo test --workspace

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks against a bare actix-web baseline, in one run (needs wrk, and chromium-driver for `ui`).
bench:
    command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
    cargo build --release -p shop -p duet-bench
    DUET_TEST_REDIS_URL={{redis_url}} target/release/duet-bench http
    target/release/duet-bench logins
    DUET_TEST_POSTGRES_URL={{postgres_url}} target/release/duet-bench webhooks
    DUET_TEST_POSTGRES_URL={{postgres_url}} target/release/duet-bench admin
    target/release/duet-bench events
    command -v chromedriver >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)
    target/release/duet-bench ui

# Chaos soak (60 s): two instances on PostgreSQL and a Redis of its own, WebSocket and API
# load while an instance is killed, Redis restarts and PostgreSQL drops connections.
soak seconds="60":
    cargo build --release -p shop -p duet-bench
    DUET_TEST_POSTGRES_URL={{postgres_url}} target/release/duet-bench soak --seconds {{seconds}}

# Coverage-guided fuzzing of the parsers of untrusted input (nightly, cargo-fuzz).
fuzz seconds="60":
    for target in frame_decoder prefix_classifier webhook_headers input_validation delta_apply; do \
        cargo +nightly fuzz run --fuzz-dir fuzz $target fuzz/corpus/$target -- -max_total_time={{seconds}} || exit 1; \
    done

# What CI runs.
ci:
    bash .ci/run
