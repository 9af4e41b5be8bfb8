-- The severity each notification announced, so that a quiet period holds within a severity: a
-- soft notification never quiets the hard page that follows it. Existing rows: escalations and
-- renotifications are hard; the rest announced their alert's severity.
ALTER TABLE alert_notifications ADD COLUMN severity text CHECK (severity IN ('soft', 'hard'));
UPDATE alert_notifications n SET severity = CASE WHEN n.kind IN ('escalate', 'renotify') THEN 'hard' ELSE a.severity END
FROM alerts a WHERE a.id = n.alert_id;
