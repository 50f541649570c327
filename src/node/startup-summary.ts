import type { Config } from '../config/config';
import { redactUrl } from '../config/redact-url';

/** What a started API says about itself: where it is and which parts it runs with. */
export interface StartupSummary {
  url: string;
  docs: string;
  database: string;
  runs: string;
  mcp: string;
}

/** Where clients reach a server listening on `host` (a wildcard address means this machine). */
function reachableUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host;
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** The database, message queue and MCP server as configured, with no credential in sight. */
export function describeParts(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'redisUrl' | 'mcpUrl' | 'mcpCommand'>,
  queueName: string,
): Pick<StartupSummary, 'database' | 'runs' | 'mcp'> {
  return {
    database: config.databaseUrl
      ? `Postgres ${redactUrl(config.databaseUrl)}`
      : `embedded PGlite in ${config.dataDir}/pglite`,
    runs: config.redisUrl
      ? `BullMQ queue "${queueName}" on ${redactUrl(config.redisUrl)}, executed by workers (npm run worker)`
      : 'in process (no REDIS_URL)',
    // A command line may carry secrets in its arguments: the program is enough to recognise it.
    mcp: config.mcpUrl
      ? redactUrl(config.mcpUrl)
      : config.mcpCommand
        ? `stdio: ${config.mcpCommand.trim().split(/\s+/)[0]} …`
        : 'built-in',
  };
}

export function describeStartup(
  config: Parameters<typeof describeParts>[0] & Pick<Config, 'host'>,
  port: number,
  queueName: string,
): StartupSummary {
  const url = reachableUrl(config.host, port);
  return { url, docs: `${url}/docs`, ...describeParts(config, queueName) };
}

/** The same as one line for a person at a terminal. */
export function startupLine(summary: StartupSummary): string {
  return `API ready on ${summary.url} (docs: ${summary.docs}) | database: ${summary.database} | runs: ${summary.runs} | MCP: ${summary.mcp}`;
}
