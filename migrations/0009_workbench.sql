-- The reviewer's workbench: actions a person takes on a message by hand,
-- and a person's corrections of the model's reading.
--
-- A person may act on a message more than once (hide, unhide, hide again;
-- a second reply), so `(message_id, kind)` is unique only among the
-- actions the pipeline planned (`requested_by IS NULL`), which keeps
-- planning idempotent. Neither database can drop a table's UNIQUE
-- constraint in a syntax the other accepts, so `actions` is rebuilt, and
-- `reviews` with it (its foreign key names the table). Ids are kept, so
-- jobs and audit entries still name the same rows.

CREATE TABLE actions_v2 (
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
    -- Who asked for it by hand (`token:<name>`, `console:<name>`); NULL for
    -- what the pipeline planned.
    requested_by    TEXT
);
INSERT INTO actions_v2 (id, message_id, kind, status, text, draft_source, reasons, attempts,
    last_error, external_ref, decided_by, created_at, updated_at, sent_at, requested_by)
SELECT id, message_id, kind, status, text, draft_source, reasons, attempts,
    last_error, external_ref, decided_by, created_at, updated_at, sent_at, NULL
FROM actions;

CREATE TABLE reviews_v2 (
    id            TEXT PRIMARY KEY,
    action_id     TEXT NOT NULL UNIQUE REFERENCES actions_v2 (id),
    message_id    TEXT NOT NULL REFERENCES messages (id),
    status        TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    original_text TEXT,
    reviewer      TEXT,
    note          TEXT,
    created_at    BIGINT NOT NULL,
    decided_at    BIGINT
);
INSERT INTO reviews_v2 (id, action_id, message_id, status, reasons, original_text, reviewer,
    note, created_at, decided_at)
SELECT id, action_id, message_id, status, reasons, original_text, reviewer, note, created_at,
    decided_at
FROM reviews;

DROP TABLE reviews;
DROP TABLE actions;
ALTER TABLE actions_v2 RENAME TO actions;
ALTER TABLE reviews_v2 RENAME TO reviews;

CREATE INDEX actions_status ON actions (status, updated_at);
CREATE INDEX actions_message ON actions (message_id, created_at);
CREATE UNIQUE INDEX actions_planned ON actions (message_id, kind) WHERE requested_by IS NULL;
CREATE INDEX reviews_status ON reviews (status, created_at);

-- A person's reading of a message where the model's was wrong: any of
-- intent, sentiment and flags (NULL: not corrected). The newest per message
-- is the one shown and exported as a labelled example.
CREATE TABLE corrections (
    id           TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id),
    intent       TEXT,
    sentiment    TEXT,
    flags        TEXT,
    corrected_by TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX corrections_message ON corrections (message_id, created_at);
CREATE INDEX corrections_created ON corrections (created_at, id);
