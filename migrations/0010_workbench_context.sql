-- Ownership and context on the workbench: who owns a message, its labels,
-- the team's internal notes on it, and the brand's saved replies. Plain
-- types both SQLite and PostgreSQL read the same (TEXT, BIGINT); labels are
-- kept twice, as JSON beside the owner for showing and one row per label
-- for filtering, written in the same transaction.

-- A message's owner (a console user's name; NULL: nobody) and labels.
CREATE TABLE message_context (
    message_id  TEXT PRIMARY KEY REFERENCES messages (id),
    owner       TEXT,
    labels      TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX message_context_owner ON message_context (owner);

CREATE TABLE message_labels (
    message_id  TEXT NOT NULL REFERENCES messages (id),
    label       TEXT NOT NULL,
    PRIMARY KEY (message_id, label)
);
CREATE INDEX message_labels_label ON message_labels (label, message_id);

-- The team's notes on a message: never sent anywhere.
CREATE TABLE message_notes (
    id          TEXT PRIMARY KEY,
    message_id  TEXT NOT NULL REFERENCES messages (id),
    text        TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX message_notes_message ON message_notes (message_id, created_at);

-- Replies a person picks from and edits, per language; the text may use
-- the variables the reply templates use.
CREATE TABLE saved_replies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    lang        TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX saved_replies_name ON saved_replies (lang, name);
