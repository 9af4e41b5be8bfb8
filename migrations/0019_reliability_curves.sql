-- The reliability curve of each labelled window of a binary classifier: per tenth of [0, 1] of
-- the score, the rows' mean score against their share of positives (a calibrated model's points
-- lie on the diagonal; `ece` in performance_metrics is its weighted gap). Whole-window rows only.
CREATE TABLE reliability_curves (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    bin_lower         double precision NOT NULL,
    bin_upper         double precision NOT NULL,
    mean_probability  double precision NOT NULL,
    observed_rate     double precision NOT NULL,
    row_count         bigint           NOT NULL,
    computed_at       timestamptz      NOT NULL,
    PRIMARY KEY (model, window_start_time, window_end_time, bin_lower)
);
