-- The steady call budget of each Meta page, shared by every replica: the
-- earliest time (microseconds since the Unix epoch) at which the page's
-- next call would be on schedule. Each call moves it on by one interval in
-- a single atomic statement (src/store/meta.rs, reserve_call).
CREATE TABLE meta_budgets (
    page_id     TEXT PRIMARY KEY,
    next_at_us  BIGINT NOT NULL
);
