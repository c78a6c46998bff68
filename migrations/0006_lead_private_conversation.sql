-- A lead found in a comment is pre-qualified in a private reply, which opens
-- a DM conversation with the author under the messaging id Meta answers with
-- (on Facebook a page-scoped id, not the comment's author id). `dm_key` is
-- `<platform>:<that id>`, so the author's answers by DM join the lead.
ALTER TABLE leads ADD COLUMN dm_key TEXT;
CREATE INDEX leads_dm_key ON leads (dm_key);
