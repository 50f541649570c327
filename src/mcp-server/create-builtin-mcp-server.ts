import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { type Clock, systemClock } from '../clock';
import { InMemoryNoteStore } from './in-memory-note-store';
import type { NoteStore } from './note-store';
import { registerCalculateTool } from './tools/calculate';
import { registerEchoTool } from './tools/echo';
import { registerFailTool } from './tools/fail';
import { registerGetTimeTool } from './tools/get-time';
import { registerNoteTools } from './tools/notes';
import { registerSleepTool } from './tools/sleep';

export const BUILTIN_MCP_SERVER_INFO = { name: 'workflow-platform-builtin', version: '0.1.0' } as const;

export interface BuiltinMcpServerOptions {
  /** Defaults to one in-memory store shared by every server this module creates. */
  notes?: NoteStore;
  clock?: Clock;
  /** The SDK's default (Ajv) compiles code, which Workers forbid; the edge passes @cfworker/json-schema. */
  jsonSchemaValidator?: jsonSchemaValidator;
}

// An McpServer serves exactly one connection, so callers create one per session; the
// notes must outlive those sessions, hence a process-wide default store.
let sharedNoteStore: NoteStore | undefined;

function defaultNoteStore(): NoteStore {
  sharedNoteStore ??= new InMemoryNoteStore();
  return sharedNoteStore;
}

/**
 * The built-in MCP server: a few safe tools (no filesystem, network or process access)
 * used when no upstream MCP server is configured. Returns a new, unconnected server;
 * connect it to exactly one transport.
 */
export function createBuiltinMcpServer(options: BuiltinMcpServerOptions = {}): McpServer {
  const clock = options.clock ?? systemClock;
  const notes = options.notes ?? defaultNoteStore();
  const server = new McpServer(BUILTIN_MCP_SERVER_INFO, {
    capabilities: { tools: {} },
    jsonSchemaValidator: options.jsonSchemaValidator,
    instructions:
      'Built-in tools of the workflow platform: echo, calculate, get_time, per-user notes (note_*), sleep and fail.',
  });
  registerEchoTool(server);
  registerCalculateTool(server);
  registerGetTimeTool(server, clock);
  registerNoteTools(server, notes);
  registerSleepTool(server);
  registerFailTool(server);
  return server;
}
