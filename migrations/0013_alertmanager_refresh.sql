-- Alertmanager forgets an alert that is not posted again before its `endsAt`: like Prometheus,
-- Vigil posts its open alerts to each Alertmanager channel again every `refresh`. When a channel
-- was last refreshed, so that of many keepers sharing the database one refreshes it each time.
ALTER TABLE channel_health ADD COLUMN refreshed_at timestamptz;
