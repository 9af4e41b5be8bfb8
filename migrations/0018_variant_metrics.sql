-- Which model served a window's metrics. A window's whole-traffic rows (variant NULL) carry the
-- version that served all of it, or NULL when a canary shared the window; a window that mixed
-- champion and canary traffic also gets rows of its own for each (variant `champion` or `canary`,
-- with its version), so a canary is never judged in the champion's numbers, nor the champion in
-- the canary's. Queries of a window's whole traffic add `AND variant IS NULL`.
ALTER TABLE performance_metrics ADD COLUMN model_version text, ADD COLUMN variant text;
ALTER TABLE operational_metrics ADD COLUMN model_version text, ADD COLUMN variant text;
