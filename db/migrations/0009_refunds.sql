ALTER TYPE "public"."refund_status" ADD VALUE 'pending_approval' BEFORE 'requested';--> statement-breakpoint
ALTER TYPE "public"."refund_status" ADD VALUE 'rejected' BEFORE 'requested';--> statement-breakpoint
ALTER TYPE "public"."refund_status" ADD VALUE 'failed';--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "initiated_by" text DEFAULT 'system' NOT NULL;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "requested_by_id" text;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "requested_by_email" text;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "replaces_refund_id" uuid;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "decided_by_id" text;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "decided_by_email" text;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "decided_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "send_after" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "accepted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "next_query_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "query_step" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "abnormal_resolution" text;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "succeeded_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "refunds_attempt_idx" ON "refunds" USING btree ("attempt_id","created_at");--> statement-breakpoint
CREATE INDEX "refunds_status_idx" ON "refunds" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "refunds_requester_day_idx" ON "refunds" USING btree ("requested_by_id","created_at");--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_idempotency_key_unique" UNIQUE("idempotency_key");--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_replaces_refund_id_unique" UNIQUE("replaces_refund_id");