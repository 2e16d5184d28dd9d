CREATE TABLE "metrics_process_samples" (
	"process" text NOT NULL,
	"metric" text NOT NULL,
	"labels" text NOT NULL,
	"value" double precision NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "metrics_process_samples_process_metric_labels_pk" PRIMARY KEY("process","metric","labels")
);
