CREATE TABLE "rate_limit_windows" (
	"scope" varchar(32) NOT NULL,
	"address" varchar(64) NOT NULL,
	"window_started_at" timestamp with time zone NOT NULL,
	"hits" integer NOT NULL,
	CONSTRAINT "rate_limit_windows_scope_address_pk" PRIMARY KEY("scope","address")
);
--> statement-breakpoint
ALTER TABLE "login_guards" ADD COLUMN "pending" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "token_version" integer DEFAULT 0 NOT NULL;