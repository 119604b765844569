-- Webhook deliveries are attempted in order per account and endpoint, claimed
-- by one replica at a time, and retried within a window that a replay restarts.
ALTER TABLE webhook_deliveries ADD COLUMN ordering_key TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_deliveries ADD COLUMN locked_until INTEGER;
ALTER TABLE webhook_deliveries ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;

CREATE INDEX webhook_deliveries_ordering
    ON webhook_deliveries (endpoint_id, ordering_key, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, event_seq DESC);
