/**
 * `npm run db:migrate` (built: `node dist/node/migrate.js`): applies drizzle/ migrations to
 * DATABASE_URL and exits. The API and the worker migrate by themselves when they start; this
 * is for a database that only the edge Worker uses (it never migrates) or for deploy pipelines.
 */
import { openDatabase, runMigrations } from './database';
import { exitOnStartupFailure } from './graceful-shutdown';

async function main() {
  const databaseUrl = process.env.DATABASE_URL?.trim();
  if (!databaseUrl) {
    console.error('config error: DATABASE_URL is required (the Postgres database to migrate)');
    process.exit(1);
  }
  const database = await openDatabase({ databaseUrl, maxConnections: 1 });
  try {
    await runMigrations({ databaseUrl, database });
  } finally {
    await database.close();
  }
  console.log('migrations applied');
}

main().catch(exitOnStartupFailure);
