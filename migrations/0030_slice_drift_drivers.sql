-- The features driving a slice's drift, as well as the whole window's: a row names its slice
-- (`slice_key` and `slice_value`, both NULL for the whole window), so a slice's alert shows what
-- moved in that slice rather than in the model's whole traffic.
ALTER TABLE drift_drivers ADD COLUMN slice_key text, ADD COLUMN slice_value text;
ALTER TABLE drift_drivers DROP CONSTRAINT drift_drivers_pkey;
ALTER TABLE drift_drivers ADD CONSTRAINT drift_drivers_window_slice_feature
    UNIQUE NULLS NOT DISTINCT (model, window_start_time, window_end_time, slice_key, slice_value, feature_name);
