ALTER TABLE "products" ADD COLUMN "tagline" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "tagline_en" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "description_en" text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Until now `description` held the one English line shown under a product's name: that is the English
-- tagline. `description` is the Chinese description from here on; the demo catalogue's seed fills in the
-- texts it left empty.
UPDATE "products" SET "tagline_en" = "description", "description" = '' WHERE "description" <> '';
