import { type Clock, systemClock } from '../clock';
import { NOTE_LIMITS, type Note, NoteQuotaExceededError, type NoteStore, type NoteSummary } from './note-store';

export interface InMemoryNoteStoreOptions {
  clock?: Clock;
  maxNotesPerUser?: number;
}

/** Notes kept in process memory: lost on restart and not shared between processes. */
export class InMemoryNoteStore implements NoteStore {
  private readonly notesByUser = new Map<string, Map<string, Note>>();
  private readonly clock: Clock;
  private readonly maxNotesPerUser: number;

  constructor(options: InMemoryNoteStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxNotesPerUser = options.maxNotesPerUser ?? NOTE_LIMITS.maxNotesPerUser;
  }

  async get(userId: string, key: string): Promise<Note | undefined> {
    const note = this.notesByUser.get(userId)?.get(key);
    return note && { ...note };
  }

  async set(userId: string, key: string, value: string): Promise<Note> {
    let notes = this.notesByUser.get(userId);
    if (!notes) {
      notes = new Map();
      this.notesByUser.set(userId, notes);
    }
    if (!notes.has(key) && notes.size >= this.maxNotesPerUser) {
      throw new NoteQuotaExceededError(this.maxNotesPerUser);
    }
    const note: Note = { key, value, updatedAt: this.clock().toISOString() };
    notes.set(key, note);
    return { ...note };
  }

  async list(userId: string): Promise<NoteSummary[]> {
    const notes = this.notesByUser.get(userId);
    if (!notes) return [];
    return [...notes.values()]
      .map(({ key, updatedAt }) => ({ key, updatedAt }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(userId: string, key: string): Promise<boolean> {
    const notes = this.notesByUser.get(userId);
    if (!notes?.delete(key)) return false;
    // Drop empty maps so users who cleaned up cost nothing.
    if (notes.size === 0) this.notesByUser.delete(userId);
    return true;
  }
}
