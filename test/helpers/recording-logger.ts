import type { Logger } from '../../src/logging/logger';

/** Every log line, so a test can wait for or look at what the code logged instead of timing it. */
export class RecordingLogger implements Logger {
  readonly lines: Array<{ level: string; fields: Record<string, unknown>; message?: string }> = [];
  debug(fields: object, message?: string) {
    this.lines.push({ level: 'debug', fields: fields as Record<string, unknown>, message });
  }
  info(fields: object, message?: string) {
    this.lines.push({ level: 'info', fields: fields as Record<string, unknown>, message });
  }
  warn(fields: object, message?: string) {
    this.lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message?: string) {
    this.lines.push({ level: 'error', fields: fields as Record<string, unknown>, message });
  }
  /** The fields of every line logged with `message`, in order. */
  fieldsOf(message: string) {
    return this.lines.filter((line) => line.message === message).map((line) => line.fields);
  }
  /** The gateway's `mcp tool call` records. */
  toolCalls() {
    return this.fieldsOf('mcp tool call');
  }
}
