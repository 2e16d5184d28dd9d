CREATE TABLE "stats_billed_fees" (
	"day" date NOT NULL,
	"source" text NOT NULL,
	"fees_fen" bigint NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stats_billed_fees_day_source_pk" PRIMARY KEY("day","source")
);
--> statement-breakpoint
CREATE TABLE "stats_daily" (
	"day" date PRIMARY KEY NOT NULL,
	"paid_count" integer DEFAULT 0 NOT NULL,
	"gross_fen" bigint DEFAULT 0 NOT NULL,
	"late_paid_count" integer DEFAULT 0 NOT NULL,
	"late_paid_fen" bigint DEFAULT 0 NOT NULL,
	"refund_count" integer DEFAULT 0 NOT NULL,
	"refund_fen" bigint DEFAULT 0 NOT NULL,
	"fees_estimated_fen" bigint DEFAULT 0 NOT NULL,
	"via_notify" integer DEFAULT 0 NOT NULL,
	"via_query" integer DEFAULT 0 NOT NULL,
	"via_shopper" integer DEFAULT 0 NOT NULL,
	"via_bill" integer DEFAULT 0 NOT NULL,
	"created_count" integer DEFAULT 0 NOT NULL,
	"qr_shown_count" integer DEFAULT 0 NOT NULL,
	"created_paid_count" integer DEFAULT 0 NOT NULL,
	"expired_count" integer DEFAULT 0 NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"time_to_pay_hist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"notify_count" integer DEFAULT 0 NOT NULL,
	"notify_deliveries" integer DEFAULT 0 NOT NULL,
	"wechat_latency_hist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"our_latency_hist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"rejects" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_notify_at" timestamp with time zone,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"fees_billed_fen" bigint
);
--> statement-breakpoint
CREATE TABLE "stats_hourly" (
	"bucket_start" timestamp with time zone PRIMARY KEY NOT NULL,
	"paid_count" integer DEFAULT 0 NOT NULL,
	"gross_fen" bigint DEFAULT 0 NOT NULL,
	"late_paid_count" integer DEFAULT 0 NOT NULL,
	"late_paid_fen" bigint DEFAULT 0 NOT NULL,
	"refund_count" integer DEFAULT 0 NOT NULL,
	"refund_fen" bigint DEFAULT 0 NOT NULL,
	"fees_estimated_fen" bigint DEFAULT 0 NOT NULL,
	"via_notify" integer DEFAULT 0 NOT NULL,
	"via_query" integer DEFAULT 0 NOT NULL,
	"via_shopper" integer DEFAULT 0 NOT NULL,
	"via_bill" integer DEFAULT 0 NOT NULL,
	"created_count" integer DEFAULT 0 NOT NULL,
	"qr_shown_count" integer DEFAULT 0 NOT NULL,
	"created_paid_count" integer DEFAULT 0 NOT NULL,
	"expired_count" integer DEFAULT 0 NOT NULL,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"time_to_pay_hist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"notify_count" integer DEFAULT 0 NOT NULL,
	"notify_deliveries" integer DEFAULT 0 NOT NULL,
	"wechat_latency_hist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"our_latency_hist" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"rejects" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_notify_at" timestamp with time zone,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"alert_id" bigint NOT NULL,
	"from_state" text,
	"to_state" text NOT NULL,
	"actor" text NOT NULL,
	"note" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metrics_process_samples" (
	"process" text NOT NULL,
	"metric" text NOT NULL,
	"labels" text NOT NULL,
	"value" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "metrics_process_samples_process_metric_labels_pk" PRIMARY KEY("process","metric","labels")
);
--> statement-breakpoint
CREATE TABLE "monitoring_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "state" text DEFAULT 'open' NOT NULL;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "rule_key" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "acknowledged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "acknowledged_by" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "alert_history" ADD CONSTRAINT "alert_history_alert_id_alerts_id_fk" FOREIGN KEY ("alert_id") REFERENCES "public"."alerts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alert_history_alert_idx" ON "alert_history" USING btree ("alert_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_rule_idx" ON "alerts" USING btree ("rule_key") WHERE "alerts"."rule_key" is not null and "alerts"."state" <> 'resolved';--> statement-breakpoint
CREATE INDEX "alerts_unresolved_idx" ON "alerts" USING btree ("id") WHERE "alerts"."state" <> 'resolved';--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_state_valid" CHECK ("alerts"."state" in ('open', 'acknowledged', 'resolved'));