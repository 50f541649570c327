/** A note as the built-in server's note tools see it. */
export interface Note {
  key: string;
  value: string;
  /** ISO-8601 time of the last write. */
  updatedAt: string;
}

export type NoteSummary = Omit<Note, 'value'>;

/**
 * Per-user key-value notes behind the built-in MCP server's `note_*` tools. Every
 * operation is scoped by `userId`, so one user can never see another's keys. The
 * in-memory implementation serves single-process setups; a shared store (Postgres,
 * KV) can implement the same interface without touching the tools.
 */
export interface NoteStore {
  get(userId: string, key: string): Promise<Note | undefined>;
  /** Creates or replaces a note. Rejects with `NoteQuotaExceededError` when a new key would exceed the user's quota. */
  set(userId: string, key: string, value: string): Promise<Note>;
  /** The user's notes, sorted by key. */
  list(userId: string): Promise<NoteSummary[]>;
  /** Resolves true when a note was removed, false when there was none. */
  delete(userId: string, key: string): Promise<boolean>;
}

export const NOTE_LIMITS = {
  maxKeyLength: 128,
  maxValueBytes: 16 * 1024,
  maxNotesPerUser: 1000,
} as const;

export class NoteQuotaExceededError extends Error {
  constructor(readonly maxNotes: number) {
    super(`Note limit reached: at most ${maxNotes} notes per user; delete one first`);
    this.name = 'NoteQuotaExceededError';
  }
}
