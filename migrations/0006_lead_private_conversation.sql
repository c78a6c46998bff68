-- A lead found in a comment is pre-qualified in a private reply, which opens
-- a DM conversation with the author under the messaging id Meta answers with
-- (on Facebook a page-scoped id, not the comment's author id). Kept here, so
-- the author's answers by DM join the lead.
ALTER TABLE leads ADD COLUMN dm_author_id TEXT;
CREATE INDEX leads_dm_author ON leads (platform, dm_author_id);
