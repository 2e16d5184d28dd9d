CREATE TABLE "wechatpay_notification_reject_counts" (
	"minute" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"count" integer NOT NULL,
	"last_serial" text,
	CONSTRAINT "wechatpay_notification_reject_counts_minute_reason_pk" PRIMARY KEY("minute","reason")
);
