-- What each delivery to a sales destination tells: `lead.created`,
-- `lead.qualified` (the hand-off), `lead.updated` or `lead.closed`. Rows
-- from before were all hand-offs.
ALTER TABLE lead_deliveries ADD COLUMN event TEXT NOT NULL DEFAULT 'lead.qualified';
