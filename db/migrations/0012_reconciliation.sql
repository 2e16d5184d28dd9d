CREATE TABLE "bill_files" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"bill_date" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"sha1" text,
	"raw" "bytea",
	"row_count" integer,
	"summary" jsonb,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"fetched_at" timestamp with time zone DEFAULT now() NOT NULL,
	"imported_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "bill_fund_rows" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"bill_date" text NOT NULL,
	"account" text NOT NULL,
	"position" integer NOT NULL,
	"booked_at" timestamp with time zone NOT NULL,
	"business_id" text NOT NULL,
	"flow_id" text NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"direction" text NOT NULL,
	"amount_fen" bigint NOT NULL,
	"balance_fen" bigint NOT NULL,
	"voucher" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bill_trade_rows" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"bill_date" text NOT NULL,
	"bill_type" text NOT NULL,
	"transaction_id" text NOT NULL,
	"refund_id" text DEFAULT '' NOT NULL,
	"out_trade_no" text NOT NULL,
	"out_refund_no" text,
	"trade_state" text NOT NULL,
	"trade_time" timestamp with time zone NOT NULL,
	"total_fen" bigint NOT NULL,
	"settlement_fen" bigint NOT NULL,
	"coupon_fen" bigint NOT NULL,
	"refund_fen" bigint NOT NULL,
	"apply_refund_fen" bigint NOT NULL,
	"refund_status" text DEFAULT '' NOT NULL,
	"fee_milli_fen" bigint NOT NULL,
	"rate" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "discrepancies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"bill_date" text NOT NULL,
	"class" text NOT NULL,
	"subject_key" text NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"order_id" uuid,
	"attempt_id" uuid,
	"out_trade_no" text,
	"transaction_id" text,
	"out_refund_no" text,
	"ours" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"bill" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"proposed_fix" text NOT NULL,
	"resolution" jsonb,
	"resolved_by" text,
	"reason" text,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_days" (
	"bill_date" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"matched_percent" text,
	"report" jsonb,
	"error" text,
	"runs" integer DEFAULT 0 NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"from_date" text NOT NULL,
	"to_date" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"days_done" integer DEFAULT 0 NOT NULL,
	"days_total" integer NOT NULL,
	"results" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "discrepancies" ADD CONSTRAINT "discrepancies_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "discrepancies" ADD CONSTRAINT "discrepancies_attempt_id_payment_attempts_id_fk" FOREIGN KEY ("attempt_id") REFERENCES "public"."payment_attempts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "bill_files_day_kind_idx" ON "bill_files" USING btree ("bill_date","kind");--> statement-breakpoint
CREATE UNIQUE INDEX "bill_fund_rows_key_idx" ON "bill_fund_rows" USING btree ("bill_date","account","position");--> statement-breakpoint
CREATE INDEX "bill_fund_rows_business_idx" ON "bill_fund_rows" USING btree ("business_id");--> statement-breakpoint
CREATE UNIQUE INDEX "bill_trade_rows_key_idx" ON "bill_trade_rows" USING btree ("bill_date","bill_type","transaction_id","refund_id");--> statement-breakpoint
CREATE INDEX "bill_trade_rows_out_trade_no_idx" ON "bill_trade_rows" USING btree ("out_trade_no");--> statement-breakpoint
CREATE UNIQUE INDEX "discrepancies_subject_idx" ON "discrepancies" USING btree ("class","subject_key");--> statement-breakpoint
CREATE INDEX "discrepancies_day_idx" ON "discrepancies" USING btree ("bill_date","class");--> statement-breakpoint
CREATE INDEX "discrepancies_state_idx" ON "discrepancies" USING btree ("state","created_at");--> statement-breakpoint
CREATE INDEX "discrepancies_order_idx" ON "discrepancies" USING btree ("order_id") WHERE "discrepancies"."order_id" is not null;--> statement-breakpoint
CREATE INDEX "reconciliation_runs_created_idx" ON "reconciliation_runs" USING btree ("created_at");