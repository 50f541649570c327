ALTER TABLE "workflow_queue" ADD COLUMN "retry_of" uuid;--> statement-breakpoint
ALTER TABLE "workflow_queue" ADD CONSTRAINT "workflow_queue_retry_of_workflow_queue_id_fk" FOREIGN KEY ("retry_of") REFERENCES "public"."workflow_queue"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "workflow_queue_retry_of_idx" ON "workflow_queue" USING btree ("retry_of");