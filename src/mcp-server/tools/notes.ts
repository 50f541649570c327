import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import * as z from 'zod';
import { NOTE_LIMITS, NoteQuotaExceededError, type NoteStore } from '../note-store';
import { requestUserId } from '../request-user';
import { structuredResult, toolErrorResult } from '../tool-results';

const utf8 = new TextEncoder();

const noteKey = z.string().min(1).max(NOTE_LIMITS.maxKeyLength).describe('Note key');
const noteValue = z
  .string()
  // maxLength documents the bound in the JSON schema; the byte check is the real limit.
  .max(NOTE_LIMITS.maxValueBytes)
  .refine((value) => utf8.encode(value).length <= NOTE_LIMITS.maxValueBytes, {
    message: `must be at most ${NOTE_LIMITS.maxValueBytes} bytes (UTF-8)`,
  })
  .describe('Note text');

const scopeNote = "Notes are private to the calling user (the request's _meta.userId).";

/** `note_set`, `note_get`, `note_list`, `note_delete`: a small per-user key-value store. */
export function registerNoteTools(server: McpServer, notes: NoteStore): void {
  server.registerTool(
    'note_set',
    {
      title: 'Save a note',
      description: `Saves \`value\` under \`key\`, replacing any previous value. ${scopeNote} At most ${NOTE_LIMITS.maxNotesPerUser} notes per user.`,
      inputSchema: { key: noteKey, value: noteValue },
      outputSchema: { key: z.string(), updatedAt: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ key, value }, extra) => {
      try {
        const note = await notes.set(requestUserId(extra), key, value);
        return structuredResult({ key: note.key, updatedAt: note.updatedAt }, `Saved note "${key}"`);
      } catch (error) {
        if (error instanceof NoteQuotaExceededError) return toolErrorResult(error.message);
        throw error;
      }
    },
  );

  server.registerTool(
    'note_get',
    {
      title: 'Read a note',
      description: `Returns {key, found, value?, updatedAt?} for \`key\`; a missing note is not an error. ${scopeNote}`,
      inputSchema: { key: noteKey },
      outputSchema: {
        key: z.string(),
        found: z.boolean(),
        value: z.string().optional(),
        updatedAt: z.string().optional(),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ key }, extra) => {
      const note = await notes.get(requestUserId(extra), key);
      if (!note) return structuredResult({ key, found: false }, `No note "${key}"`);
      return structuredResult({ key, found: true, value: note.value, updatedAt: note.updatedAt }, note.value);
    },
  );

  server.registerTool(
    'note_list',
    {
      title: 'List notes',
      description: `Lists the keys of the caller's notes with their last update time. ${scopeNote}`,
      outputSchema: {
        notes: z.array(z.object({ key: z.string(), updatedAt: z.string() })),
        count: z.number().int(),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (extra) => {
      const list = await notes.list(requestUserId(extra));
      return structuredResult({ notes: list, count: list.length });
    },
  );

  server.registerTool(
    'note_delete',
    {
      title: 'Delete a note',
      description: `Deletes the note under \`key\`; returns {key, deleted}. ${scopeNote}`,
      inputSchema: { key: noteKey },
      outputSchema: { key: z.string(), deleted: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ key }, extra) => {
      const deleted = await notes.delete(requestUserId(extra), key);
      return structuredResult({ key, deleted }, deleted ? `Deleted note "${key}"` : `No note "${key}"`);
    },
  );
}
