-- Which UTC days hold which model's logged inferences. Retention reads this ledger to find a
-- model's expired days, and the models in a day, instead of scanning the day partitions that
-- models share: without it, a model whose retention is shorter than another's had every kept
-- day's partition scanned on every hourly pass. Ingest and the serving log record a (model, day)
-- before storing its rows and hold it (FOR KEY SHARE) until they commit; retention removes it
-- before it removes the rows.
CREATE TABLE logged_days (
    model text NOT NULL,
    day   date NOT NULL,
    PRIMARY KEY (model, day)
);

CREATE INDEX logged_days_day_idx ON logged_days (day);

-- The days already logged: one scan of the log, once.
INSERT INTO logged_days (model, day)
SELECT DISTINCT model, (ts AT TIME ZONE 'UTC')::date FROM inference_log;
