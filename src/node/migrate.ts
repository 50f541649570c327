/**
 * `npm run db:migrate` (built: `node dist/node/migrate.js`): applies drizzle/ migrations to
 * DATABASE_URL and exits. The API and the worker migrate by themselves when they start; this
 * is for a database that only the edge Worker uses (it never migrates) or for deploy pipelines.
 */
import { ConfigError, loadMigrateConfig } from '../config/config';
import { describeDatabaseUrl, openDatabase, runMigrations } from './database';
import { exitOnStartupFailure } from './graceful-shutdown';
import { createNodeLogger } from './logger';

async function main() {
  let settings: ReturnType<typeof loadMigrateConfig>;
  try {
    settings = loadMigrateConfig(process.env);
    if (!settings.databaseUrl) throw new ConfigError(['DATABASE_URL is required (the Postgres database to migrate)']);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) console.error(`config error: ${problem}`);
    process.exit(1);
  }
  const { databaseUrl, databaseConnectAttempts } = settings;
  const logger = createNodeLogger(settings.logLevel);
  const database = await openDatabase({ databaseUrl, maxConnections: 1 });
  try {
    await runMigrations({ databaseUrl, database, connectAttempts: databaseConnectAttempts, logger });
  } finally {
    await database.close();
  }
  logger.info({ database: describeDatabaseUrl(databaseUrl as string) }, 'migrations applied');
}

main().catch(exitOnStartupFailure);
