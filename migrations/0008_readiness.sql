-- One row `/readyz` rewrites to learn whether the database still takes
-- writes (a full disk answers reads but refuses commits). `payload` is
-- as long as a message while the daemon checks it has room again.
CREATE TABLE readiness (
    id INTEGER PRIMARY KEY,
    checked_at BIGINT NOT NULL,
    payload TEXT NOT NULL DEFAULT ''
);
