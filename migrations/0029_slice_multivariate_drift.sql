-- Multivariate drift per slice as well as for the whole window: a row names its slice
-- (`slice_key` and `slice_value`, both NULL for the whole window), and records the domain
-- classifier's significance level, so an evaluate step judging several slices can correct it
-- for their number as it corrects each feature's test.
ALTER TABLE multivariate_drift ADD COLUMN slice_key text, ADD COLUMN slice_value text, ADD COLUMN significance double precision;
ALTER TABLE multivariate_drift DROP CONSTRAINT multivariate_drift_pkey;
ALTER TABLE multivariate_drift ADD CONSTRAINT multivariate_drift_window_slice_method
    UNIQUE NULLS NOT DISTINCT (model, window_start_time, window_end_time, slice_key, slice_value, method);
