CREATE TABLE "product_images" (
	"product_id" text PRIMARY KEY NOT NULL,
	"content_type" text NOT NULL,
	"bytes" "bytea" NOT NULL,
	"sha256" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "product_images_type" CHECK ("product_images"."content_type" in ('image/png', 'image/jpeg', 'image/webp')),
	CONSTRAINT "product_images_size" CHECK (octet_length("product_images"."bytes") > 0)
);
--> statement-breakpoint
ALTER TABLE "product_images" ADD CONSTRAINT "product_images_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;