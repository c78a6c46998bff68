-- Leads: what the first schema lacked for detection, follow-ups and the
-- hand-off to sales. Types both databases accept; times in ms.

-- `open_key` is `<platform>:<author id>` while the lead is the author's open
-- lead, NULL otherwise: the unique index makes "one open lead per author and
-- platform" hold even when two of the author's messages are decided at once
-- (both databases allow any number of NULLs in a unique column).
ALTER TABLE leads ADD COLUMN open_key TEXT;
CREATE UNIQUE INDEX leads_open_key ON leads (open_key);
ALTER TABLE leads ADD COLUMN kind TEXT;
ALTER TABLE leads ADD COLUMN lang TEXT;
ALTER TABLE leads ADD COLUMN handed_off_at BIGINT;
CREATE INDEX leads_created ON leads (created_at, id);

ALTER TABLE lead_messages ADD COLUMN attached_at BIGINT NOT NULL DEFAULT 0;

-- One row per hand-off of a lead to one configured webhook. Its id is the
-- delivery id sent as `X-Replyd-Delivery`, the same on every retry.
CREATE TABLE lead_deliveries (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL REFERENCES leads (id),
    url          TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX lead_deliveries_lead ON lead_deliveries (lead_id);
