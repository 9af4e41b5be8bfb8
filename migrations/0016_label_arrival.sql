-- When a label became known, as its source states it (a label file's `label_ts`), apart from
-- when Vigil took it in (`received_at`, which tells the monitor which windows to recompute).
-- Lead times and "labelled by" figures read `known_at`.
ALTER TABLE inference_labels ADD COLUMN known_at timestamptz;
UPDATE inference_labels SET known_at = received_at;
ALTER TABLE inference_labels ALTER COLUMN known_at SET NOT NULL, ALTER COLUMN known_at SET DEFAULT now();
