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

-- The claims so far move aside, to be copied into the partitioned table under the same name.
ALTER TABLE inference_requests RENAME TO inference_requests_undivided;
ALTER TABLE inference_requests_undivided RENAME CONSTRAINT inference_requests_pkey TO inference_requests_undivided_pkey;

CREATE TABLE inference_requests (
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

-- Creates `parent`'s partition for one UTC day, `parent_YYYYMMDD`, holding [from_value, to_value),
-- unless it exists; returns whether it did. The partition is created on its own and then
-- attached, which takes only a SHARE UPDATE EXCLUSIVE lock on the parent: it does not wait for
-- (or block) transactions that are inserting rows.
CREATE FUNCTION vigil_attach_day_partition(parent text, day date, from_value anyelement, to_value anyelement) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    partition text := parent || '_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(partition) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition, parent);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', parent, partition, from_value, to_value);
    RETURN true;
END $$;

-- Creates the daily partitions of inference_log, and of inference_requests beside them, covering
-- [from_ts, to_ts]; existing ones are kept. Returns how many log partitions it created.
CREATE OR REPLACE FUNCTION vigil_ensure_inference_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    first_day constant date := (from_ts AT TIME ZONE 'UTC')::date;
    last_day constant date := (to_ts AT TIME ZONE 'UTC')::date;
    created integer := 0;
BEGIN
    IF last_day - first_day > 3660 THEN
        RAISE EXCEPTION 'refusing to create % daily partitions at once (% to %)', last_day - first_day + 1, first_day, last_day
            USING ERRCODE = '22023';
    END IF;
    -- One creator at a time: two ingests racing for the same day would otherwise both try.
    PERFORM pg_advisory_xact_lock(hashtext('vigil_inference_partitions'));
    FOR offset_days IN 0 .. last_day - first_day LOOP
        IF vigil_attach_day_partition('inference_log', first_day + offset_days,
                                      (first_day + offset_days)::timestamp AT TIME ZONE 'UTC',
                                      (first_day + offset_days + 1)::timestamp AT TIME ZONE 'UTC') THEN
            created := created + 1;
        END IF;
        PERFORM vigil_attach_day_partition('inference_requests', first_day + offset_days, first_day + offset_days, first_day + offset_days + 1);
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
        SELECT DISTINCT (ts AT TIME ZONE 'UTC')::date FROM inference_requests_undivided
        UNION
        SELECT to_date(substr(c.relname, length('inference_log_') + 1), 'YYYYMMDD')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'inference_log'::regclass AND c.relname ~ '^inference_log_[0-9]{8}$'
    LOOP
        PERFORM vigil_attach_day_partition('inference_requests', day, day, day + 1);
    END LOOP;
END $$;

INSERT INTO inference_requests (key, role, model, request_id, ts, day)
SELECT key, role, model, request_id, ts, (ts AT TIME ZONE 'UTC')::date FROM inference_requests_undivided;

DROP TABLE inference_requests_undivided;
