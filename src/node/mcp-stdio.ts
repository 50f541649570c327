import type { IOType } from 'node:child_process';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { McpConnector } from '../mcp/tool-client';

/**
 * Splits a command line into words the way a POSIX shell would for plain commands:
 * whitespace separates words, single quotes keep everything literally, double quotes
 * keep whitespace (backslash escapes `"`, `\`, `$` and `` ` `` inside them), a backslash
 * outside quotes escapes the next character. Nothing is expanded or executed: no
 * variables, globs, pipes or redirections.
 */
export function splitCommandLine(commandLine: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < commandLine.length; i++) {
    const char = commandLine.charAt(i);
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && '"\\$`'.includes(commandLine.charAt(i + 1)) && i + 1 < commandLine.length) {
        word += commandLine.charAt(++i);
      } else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < commandLine.length) {
      word += commandLine.charAt(++i);
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`Unterminated ${quote} quote in command: ${commandLine}`);
  if (inWord) words.push(word);
  return words;
}

export interface StdioConnectorOptions {
  /**
   * Variables for the child on top of the SDK's safe default set (HOME, PATH, USER...).
   * The platform's own environment (database URL, JWT secret...) is deliberately not inherited.
   */
  env?: Record<string, string>;
  cwd?: string;
  /** The child's stderr. Default 'inherit' (its logs appear in ours). */
  stderr?: IOType;
}

/**
 * Connector that spawns `MCP_COMMAND` (e.g. `npx -y @modelcontextprotocol/server-everything`)
 * and talks to it over stdio. Each connect spawns a fresh process, so after the child dies
 * the reconnecting client simply starts a new one; closing the client ends the child.
 */
export function stdioConnector(commandLine: string, options: StdioConnectorOptions = {}): McpConnector {
  const [command, ...args] = splitCommandLine(commandLine);
  if (!command) throw new Error('MCP_COMMAND is empty');
  const connector: McpConnector = async () =>
    new StdioClientTransport({
      command,
      args,
      env: options.env,
      cwd: options.cwd,
      stderr: options.stderr ?? 'inherit',
    });
  connector.label = `MCP server process "${command}"`;
  return connector;
}
