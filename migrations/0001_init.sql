-- One schema for SQLite and PostgreSQL: only types and syntax both accept.
-- Times are milliseconds since the Unix epoch (BIGINT); ids are UUID v7 text,
-- so they sort by creation; structured values are JSON text.

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    platform      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    thread_id     TEXT,
    parent_id     TEXT,
    page_id       TEXT,
    author_id     TEXT NOT NULL,
    author_name   TEXT,
    author_handle TEXT,
    text          TEXT NOT NULL,
    lang          TEXT,
    url           TEXT,
    meta          TEXT NOT NULL DEFAULT '{}',
    source        TEXT NOT NULL,
    created_at    BIGINT,
    received_at   BIGINT NOT NULL,
    stage         TEXT NOT NULL,
    stage_at      BIGINT NOT NULL,
    UNIQUE (platform, external_id)
);
CREATE INDEX messages_received ON messages (received_at, id);
CREATE INDEX messages_stage ON messages (stage, received_at);
CREATE INDEX messages_author ON messages (platform, author_id, received_at);
CREATE INDEX messages_thread ON messages (platform, thread_id);

CREATE TABLE classifications (
    message_id  TEXT PRIMARY KEY REFERENCES messages (id),
    intent      TEXT NOT NULL,
    sentiment   TEXT NOT NULL,
    confidence  DOUBLE PRECISION NOT NULL,
    flags       TEXT NOT NULL,
    data        TEXT NOT NULL,
    classifier  TEXT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX classifications_intent ON classifications (intent);

CREATE TABLE decisions (
    message_id TEXT PRIMARY KEY REFERENCES messages (id),
    summary    TEXT NOT NULL,
    reasons    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE actions (
    id              TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages (id),
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    text            TEXT,
    draft_source    TEXT,
    reasons         TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    external_ref    TEXT,
    decided_by      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    UNIQUE (message_id, kind)
);
CREATE INDEX actions_status ON actions (status, updated_at);

-- A held action waiting for (or decided by) a person.
CREATE TABLE reviews (
    id            TEXT PRIMARY KEY,
    action_id     TEXT NOT NULL UNIQUE REFERENCES actions (id),
    message_id    TEXT NOT NULL REFERENCES messages (id),
    status        TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    original_text TEXT,
    reviewer      TEXT,
    note          TEXT,
    created_at    BIGINT NOT NULL,
    decided_at    BIGINT
);
CREATE INDEX reviews_status ON reviews (status, created_at);

CREATE TABLE leads (
    id          TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT,
    message_id  TEXT NOT NULL REFERENCES messages (id),
    thread_id   TEXT,
    score       DOUBLE PRECISION NOT NULL,
    reasons     TEXT NOT NULL,
    status      TEXT NOT NULL,
    owner       TEXT,
    notes       TEXT,
    email       TEXT,
    website     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX leads_author ON leads (platform, author_id, created_at);
CREATE INDEX leads_status ON leads (status, created_at);

CREATE TABLE lead_messages (
    lead_id    TEXT NOT NULL REFERENCES leads (id),
    message_id TEXT NOT NULL REFERENCES messages (id),
    PRIMARY KEY (lead_id, message_id)
);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE audit_log (
    id      TEXT PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Durable background work: pipeline steps, deliveries, hand-offs. A claimed
-- job is leased; when the lease runs out another worker may take it over.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    job_type     TEXT NOT NULL,
    data         TEXT NOT NULL,
    dedupe_key   TEXT UNIQUE,
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    locked_by    TEXT,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (run_at);
