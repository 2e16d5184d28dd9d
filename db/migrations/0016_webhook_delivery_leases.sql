ALTER TABLE "webhook_deliveries" ADD COLUMN "leased_until" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("endpoint_id","next_attempt_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_leased_idx" ON "webhook_deliveries" USING btree ("endpoint_id") WHERE status = 'pending' and leased_until is not null;--> statement-breakpoint
-- Webhook attempts are no longer pg-boss jobs (the delivery row is its own schedule): the old queue's jobs would wait forever.
DO $$ BEGIN
  IF to_regclass('pgboss.job') IS NOT NULL THEN
    DELETE FROM pgboss.job WHERE name IN ('webhooks.deliver', 'webhooks.deliver.dead');
  END IF;
END $$;
