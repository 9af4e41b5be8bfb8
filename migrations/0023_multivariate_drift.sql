-- Multivariate drift of a whole window: each method's statistic against its threshold (the
-- domain classifier's held-out ROC AUC with its p-value; the data reconstruction error with the
-- reference's limits), on rows drawn by `seed`, `reference_rows` and `current_rows` of them.
CREATE TABLE multivariate_drift (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    method            text             NOT NULL,
    value             double precision NOT NULL,
    lower             double precision,
    upper             double precision,
    p_value           double precision,
    drifted           boolean          NOT NULL,
    reference_rows    bigint           NOT NULL,
    current_rows      bigint           NOT NULL,
    seed              bigint           NOT NULL,
    computed_at       timestamptz      NOT NULL,
    PRIMARY KEY (model, window_start_time, window_end_time, method)
);

-- What drives a window's drift, strongest first: each feature's share of the domain classifier's
-- split gain and of the window's drift scores (each relative to its threshold), and their mean,
-- by which the features are ranked.
CREATE TABLE drift_drivers (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    rank              int              NOT NULL,
    feature_name      text             NOT NULL,
    share             double precision NOT NULL,
    classifier_share  double precision,
    drift_share       double precision NOT NULL,
    drift_score       double precision,
    computed_at       timestamptz      NOT NULL,
    PRIMARY KEY (model, window_start_time, window_end_time, feature_name)
);

-- A fixed baseline's rows drawn for the multivariate tests (columns by name), kept with its profiles.
ALTER TABLE baseline_profiles ADD COLUMN sample jsonb;
