-- Performance estimated before labels arrive (confidence-based estimation from calibrated
-- scores) sits in `performance_metrics` beside the realised values, under the same metric names:
-- `estimated` tells them apart, `lower` and `upper` bound the estimate (three sampling errors).
ALTER TABLE performance_metrics
    ADD COLUMN estimated boolean NOT NULL DEFAULT false,
    ADD COLUMN lower     double precision,
    ADD COLUMN upper     double precision;

-- A fixed baseline's performance estimator (the calibration of the model's scores on the
-- baseline's labelled rows, and each metric's chunk-to-chunk spread there), fitted with its
-- profiles and reused for every window compared with it.
ALTER TABLE baseline_profiles ADD COLUMN estimator jsonb;
