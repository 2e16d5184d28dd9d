CREATE TABLE "console_exports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"filter" jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"rows_done" integer DEFAULT 0 NOT NULL,
	"rows_total" integer,
	"error" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "console_exports_creator_idx" ON "console_exports" USING btree ("created_by","created_at");--> statement-breakpoint
CREATE INDEX "payment_attempts_late_idx" ON "payment_attempts" USING btree ("late_payment","order_id") WHERE "payment_attempts"."late_payment" is not null;--> statement-breakpoint
CREATE INDEX "wechatpay_notifications_out_trade_no_idx" ON "wechatpay_notifications" USING btree (("resource"->>'out_trade_no'));