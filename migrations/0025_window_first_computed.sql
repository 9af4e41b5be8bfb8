-- When each window was first computed: a window first computed well after it ended was
-- back-filled from history, not detected live, and `vigil report` says so. (`computed_at` moves
-- with every recomputation, for instance when late labels arrive, so it cannot tell.)
ALTER TABLE monitor_windows ADD COLUMN first_computed_at timestamptz;
UPDATE monitor_windows SET first_computed_at = computed_at;
ALTER TABLE monitor_windows ALTER COLUMN first_computed_at SET NOT NULL;
