ALTER TABLE "workflow_queue" ADD COLUMN "locked_by" varchar(128);--> statement-breakpoint
ALTER TABLE "workflow_queue" ADD COLUMN "lock_expires_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "workflow_queue_status_created_idx" ON "workflow_queue" USING btree ("status","created_at");