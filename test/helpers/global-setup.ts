import type { TestProject } from 'vitest/node';
import { openDatabase, runMigrations } from '../../src/node/database';
import { startPostgres, startRedis } from './servers';

export const TEMPLATE_DATABASE = 'wfp_template';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    redisUrl: string;
  }
}

/** One Postgres and one Redis for the whole run; each test file gets its own database from a migrated template. */
export default async function setup(project: TestProject) {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const postgres = (await import('postgres')).default;
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();
  const templateUrl = pg.url.replace(/\/postgres$/, `/${TEMPLATE_DATABASE}`);
  const database = await openDatabase({ databaseUrl: templateUrl, maxConnections: 1 });
  await runMigrations({ databaseUrl: templateUrl, database });
  await database.close();

  project.provide('postgresUrl', pg.url);
  project.provide('redisUrl', redis.url);
  return async () => {
    await Promise.all([pg.stop(), redis.stop()]);
  };
}
