-- Request claims partitioned by day, like the inference log they guard.
--
-- One B-tree of every request ever claimed grew with the whole history: a claim's key is a hash,
-- so each new one landed on a random leaf page of an index far larger than the buffer cache, and
-- ingest slowed as the log grew (`vigil bench scale`: 74,000 rows/s at 10M rows logged, 38,000 at
-- 50M). Claims now live in one partition per UTC day of the request's timestamp, created and
-- dropped with the log's partition for that day: a load writes into today's index only, whatever
-- the history, and retention drops a day's claims instead of deleting them row by row.
--
-- The price: a request is claimed once per model, role and UTC day of its timestamp. A request
-- re-sent as it was (a retried API batch, a file loaded twice) has the same timestamp and is
-- refused as before; the same request id logged again on another day is another row.

CREATE TABLE inference_request_days (
    key        uuid        NOT NULL,
    role       text        COLLATE "C" NOT NULL,
    model      text        NOT NULL,
    request_id text        NOT NULL,
    ts         timestamptz NOT NULL,
    -- The UTC day of ts: the partition, and part of the key (a partitioned table's unique key
    -- must hold its partition key).
    day        date        NOT NULL,
    PRIMARY KEY (key, role, day)
) PARTITION BY RANGE (day);

-- Creates the daily partitions of inference_log, and of inference_requests beside them, covering
-- [from_ts, to_ts]; existing ones are kept. Each is created on its own and then attached, which
-- takes only a SHARE UPDATE EXCLUSIVE lock on the parent: it does not wait for (or block)
-- transactions that are inserting rows.
CREATE OR REPLACE FUNCTION vigil_ensure_inference_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
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
        name := 'inference_requests_' || to_char(day, 'YYYYMMDD');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE inference_requests INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format('ALTER TABLE inference_requests ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, day, day + 1);
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END $$;

-- A partition for every day that has claims or a log partition (days created ahead included),
-- then the claims themselves.
DO $$
DECLARE
    day date;
BEGIN
    FOR day IN
        SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date FROM inference_requests
        UNION
        SELECT to_date(substr(c.relname, length('inference_log_') + 1), 'YYYYMMDD')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'inference_log'::regclass AND c.relname ~ '^inference_log_[0-9]{8}$'
    LOOP
        EXECUTE format('CREATE TABLE %I (LIKE inference_request_days INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       'inference_requests_' || to_char(day, 'YYYYMMDD'));
        EXECUTE format('ALTER TABLE inference_request_days ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       'inference_requests_' || to_char(day, 'YYYYMMDD'), day, day + 1);
    END LOOP;
END $$;

INSERT INTO inference_request_days (key, role, model, request_id, ts, day)
SELECT key, role, model, request_id, ts, (ts AT TIME ZONE 'UTC')::date FROM inference_requests;

DROP TABLE inference_requests;
ALTER TABLE inference_request_days RENAME TO inference_requests;
ALTER TABLE inference_requests RENAME CONSTRAINT inference_request_days_pkey TO inference_requests_pkey;
