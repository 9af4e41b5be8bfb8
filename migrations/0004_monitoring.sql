-- What deployed models saw and predicted, the labels that arrive later, and the per-window
-- metrics the monitor step computes from them. The metric tables are a stable, documented
-- interface (docs/monitoring.md): dashboards and auditors query them with plain SQL.

-- One row per prediction served (or shadowed). Partitioned by day on `ts`; partitions are
-- created ahead by vigil_ensure_inference_partitions, which ingest and the workers call.
CREATE TABLE inference_log (
    model         text             NOT NULL,
    model_version text             NOT NULL DEFAULT '',
    -- champion, challenger, shadow or canary: which routing served (or shadowed) this prediction.
    role          text             NOT NULL DEFAULT 'champion'
                  CHECK (role IN ('champion', 'challenger', 'shadow', 'canary')),
    request_id    text             NOT NULL,
    ts            timestamptz      NOT NULL,
    -- Feature name → value. json, not jsonb: COPY keeps the text as sent instead of decomposing
    -- it, which doubles ingest speed; the monitor reads every feature of a row with one
    -- json_to_record call, and `features ->> 'name'` works in ad-hoc queries as with jsonb.
    features      json             NOT NULL DEFAULT '{}',
    prediction    text,
    -- The positive class's probability (binary classification) or the model's confidence.
    score         double precision,
    -- Class → probability, for multiclass models.
    probabilities jsonb,
    latency_ms    double precision,
    error         boolean          NOT NULL DEFAULT false,
    batch_id      bigint,
    ingested_at   timestamptz      NOT NULL DEFAULT now()
) PARTITION BY RANGE (ts);

-- The monitor reads whole windows: rows arrive roughly in time order, so a BRIN index on ts
-- (a few pages per partition, next to free to maintain) finds a window's blocks. Labels join to
-- a window's rows by hash, so no B-tree on request_id is kept: it would cost a random insert
-- per ingested row.
CREATE INDEX inference_log_ts_brin ON inference_log USING brin (ts);

-- Creates the daily partitions of inference_log covering [from_ts, to_ts]; existing ones are kept.
-- Each is created on its own and then attached, which takes only a SHARE UPDATE EXCLUSIVE lock on
-- inference_log: it does not wait for (or block) transactions that are inserting rows.
CREATE FUNCTION vigil_ensure_inference_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day date := (from_ts AT TIME ZONE 'UTC')::date;
    last_day date := (to_ts AT TIME ZONE 'UTC')::date;
    created integer := 0;
    name text;
BEGIN
    IF last_day - day > 3660 THEN
        RAISE EXCEPTION 'refusing to create % daily partitions at once (% to %)', last_day - day + 1, day, last_day
            USING ERRCODE = '22023';
    END IF;
    -- One creator at a time: two ingests racing for the same day would otherwise both try.
    PERFORM pg_advisory_xact_lock(hashtext('vigil_inference_partitions'));
    WHILE day <= last_day LOOP
        name := 'inference_log_' || to_char(day, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE inference_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format(
                'ALTER TABLE inference_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END $$;

-- Ground truth, arriving hours or days after the prediction; joined to inference_log by
-- (model, request_id). A corrected label replaces the old one and moves received_at, which
-- makes the monitor recompute that prediction's window.
CREATE TABLE inference_labels (
    model       text        NOT NULL,
    request_id  text        NOT NULL,
    label       text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, request_id)
);

CREATE INDEX inference_labels_received_idx ON inference_labels (model, received_at);

-- One `vigil ingest` (or API batch): what was read, loaded and set aside.
CREATE TABLE ingest_batches (
    id          bigserial   PRIMARY KEY,
    model       text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('inferences', 'labels')),
    source      text        NOT NULL,
    actor       text        NOT NULL,
    rows_read   bigint      NOT NULL,
    rows_loaded bigint      NOT NULL,
    quarantined bigint      NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL
);

-- Rows that broke the declared schema at ingest: never silently dropped, counted in the
-- integrity metrics of their window (when their timestamp could be read).
CREATE TABLE quarantined_rows (
    id         bigserial   PRIMARY KEY,
    batch_id   bigint      NOT NULL REFERENCES ingest_batches (id),
    model      text        NOT NULL,
    -- The row's line in the source file (1 is a CSV header), or its index in an API batch.
    row_number bigint      NOT NULL,
    ts         timestamptz,
    column_name text,
    reason     text        NOT NULL,
    raw        text        NOT NULL
);

CREATE INDEX quarantined_rows_model_ts_idx ON quarantined_rows (model, ts);

-- Every window the monitor computed, with the signature of the data it saw: a window whose
-- row count, label count or latest label changed since is computed again.
CREATE TABLE monitor_windows (
    model          text             NOT NULL,
    window_start   timestamptz      NOT NULL,
    window_end     timestamptz      NOT NULL,
    workflow       text             NOT NULL,
    row_count      bigint           NOT NULL,
    labelled_count bigint           NOT NULL,
    last_label_at  timestamptz,
    quarantined    bigint           NOT NULL,
    sample_rate    double precision NOT NULL,
    computations   integer          NOT NULL DEFAULT 1,
    computed_at    timestamptz      NOT NULL,
    run_id         bigint,
    PRIMARY KEY (model, window_start, window_end)
);

-- Mergeable profiles (statistics target's NumericProfile / CategoricalProfile as JSON) per
-- window, slice and column, so references and longer windows need no rescan of raw rows.
CREATE TABLE window_profiles (
    model        text        NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    slice_key    text,
    slice_value  text,
    column_name  text        NOT NULL,
    -- feature, prediction, score or label
    role         text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('numeric', 'categorical')),
    profile      jsonb       NOT NULL,
    UNIQUE NULLS NOT DISTINCT (model, window_start, window_end, slice_key, slice_value, column_name)
);

-- A fixed reference (a baseline table or a fixed time range), profiled once and reused.
CREATE TABLE baseline_profiles (
    model       text        NOT NULL,
    baseline    text        NOT NULL,
    row_count   bigint      NOT NULL,
    profiles    jsonb       NOT NULL,
    performance jsonb       NOT NULL DEFAULT '{}',
    computed_at timestamptz NOT NULL,
    PRIMARY KEY (model, baseline)
);

-- Drift of one column of one window (and slice) against its reference.
CREATE TABLE drift_metrics (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    slice_key         text,
    slice_value       text,
    feature_name      text             NOT NULL,
    -- feature, prediction, score or label
    column_role       text             NOT NULL,
    method            text             NOT NULL,
    drift_score       double precision NOT NULL,
    drift_threshold   double precision NOT NULL,
    p_value           double precision,
    drifted           boolean          NOT NULL,
    -- baseline (a table or fixed range), previous or seasonal, and the reference it names.
    comparison        text             NOT NULL,
    reference         text             NOT NULL,
    reference_start   timestamptz,
    reference_end     timestamptz,
    reference_count   bigint           NOT NULL,
    current_count     bigint           NOT NULL,
    count_delta       bigint           NOT NULL,
    mean_delta        double precision,
    null_rate_delta   double precision NOT NULL,
    distinct_count_delta integer,
    parameters        jsonb            NOT NULL DEFAULT '{}',
    bin_edges         double precision[],
    sample_rate       double precision NOT NULL DEFAULT 1,
    computed_at       timestamptz      NOT NULL
);

CREATE INDEX drift_metrics_model_window_idx ON drift_metrics (model, window_start_time);

-- Data integrity of one column of one window (and slice).
CREATE TABLE integrity_metrics (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    slice_key         text,
    slice_value       text,
    feature_name      text             NOT NULL,
    row_count         bigint           NOT NULL,
    missing_count     bigint           NOT NULL,
    missing_rate      double precision NOT NULL,
    type_mismatches   bigint           NOT NULL,
    out_of_range      bigint           NOT NULL,
    out_of_domain     bigint           NOT NULL,
    unseen_categories bigint           NOT NULL,
    -- Rows of this window set aside at ingest for this column (all columns: feature_name '*').
    quarantined_rows  bigint           NOT NULL,
    sample_rate       double precision NOT NULL DEFAULT 1,
    computed_at       timestamptz      NOT NULL
);

CREATE INDEX integrity_metrics_model_window_idx ON integrity_metrics (model, window_start_time);

-- Model quality of one window (and slice): one row per metric. Proxy metrics (mean confidence,
-- prediction drift) are there while labels are missing; labelled_rows says how many labels a
-- true-quality metric rests on.
CREATE TABLE performance_metrics (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    slice_key         text,
    slice_value       text,
    metric            text             NOT NULL,
    value             double precision NOT NULL,
    baseline_value    double precision,
    labelled_rows     bigint           NOT NULL,
    row_count         bigint           NOT NULL,
    is_proxy          boolean          NOT NULL DEFAULT false,
    sample_rate       double precision NOT NULL DEFAULT 1,
    computed_at       timestamptz      NOT NULL
);

CREATE INDEX performance_metrics_model_window_idx ON performance_metrics (model, window_start_time);

-- Serving health of one window (and slice): latency percentiles, error rate, throughput.
CREATE TABLE operational_metrics (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    slice_key         text,
    slice_value       text,
    metric            text             NOT NULL,
    value             double precision NOT NULL,
    row_count         bigint           NOT NULL,
    sample_rate       double precision NOT NULL DEFAULT 1,
    computed_at       timestamptz      NOT NULL
);

CREATE INDEX operational_metrics_model_window_idx ON operational_metrics (model, window_start_time);

-- Business metrics declared in a workflow as SQL aggregates over the window's rows.
CREATE TABLE business_metrics (
    model             text             NOT NULL,
    window_start_time timestamptz      NOT NULL,
    window_end_time   timestamptz      NOT NULL,
    metric            text             NOT NULL,
    value             double precision,
    row_count         bigint           NOT NULL,
    computed_at       timestamptz      NOT NULL
);

CREATE INDEX business_metrics_model_window_idx ON business_metrics (model, window_start_time);
