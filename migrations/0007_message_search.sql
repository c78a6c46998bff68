-- Inbox search reads the text folded as the rules read it (lowercase, no
-- accents, no invisible characters): SQLite's LOWER folds only ASCII, so
-- "Über" was not found by "über". Written at ingest; rows stored before this
-- migration are folded by replyd when it starts (`store::messages::fold_unsearchable`).
ALTER TABLE messages ADD COLUMN search_text TEXT;
