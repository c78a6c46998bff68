-- Meta (Facebook and Instagram): a page that Meta rate-limited is paused
-- until the time Meta estimated. Kept here, not in memory, so a pause
-- survives a restart and every replica honours it.
CREATE TABLE meta_pauses (
    page_id      TEXT PRIMARY KEY,
    paused_until BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- The DM window asks for a user's latest message in a conversation.
CREATE INDEX messages_thread_author ON messages (platform, thread_id, author_id, received_at);
