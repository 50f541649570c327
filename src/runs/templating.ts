/**
 * Argument templates. A string argument value that is EXACTLY `{{steps.<stepId>.<path>}}`
 * or `{{input.<path>}}` is replaced by that value (any JSON type, not only strings); the
 * path is dot-separated (`items.0.name`) and may be empty to take the whole value.
 * Strings that merely contain `{{...}}` are left alone: no string interpolation, no code.
 */

const TEMPLATE = /^\{\{\s*(steps\.([A-Za-z0-9_-]+)|input)((?:\.[^.{}\s]+)*)\s*\}\}$/;

export type ParsedTemplate =
  | { source: 'input'; path: string[]; raw: string }
  | { source: 'steps'; stepId: string; path: string[]; raw: string };

/** A template and where it sits in the arguments. */
export type TemplateRef = ParsedTemplate & { at: (string | number)[] };

export function parseTemplate(value: string): ParsedTemplate | undefined {
  const match = TEMPLATE.exec(value);
  if (!match) return undefined;
  const path = (match[3] ?? '').split('.').filter(Boolean);
  return match[2] !== undefined
    ? { source: 'steps', stepId: match[2], path, raw: value }
    : { source: 'input', path, raw: value };
}

/** Every template in an arguments object, with where it sits (for validation messages). */
export function findTemplateRefs(value: unknown, at: (string | number)[] = []): TemplateRef[] {
  if (typeof value === 'string') {
    const ref = parseTemplate(value);
    return ref ? [{ ...ref, at }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findTemplateRefs(v, [...at, i]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => findTemplateRefs(v, [...at, k]));
  }
  return [];
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

function walk(root: unknown, path: string[], raw: string, what: string): unknown {
  let current = root;
  for (const [i, key] of path.entries()) {
    const container = current as Record<string, unknown> | unknown[] | null | undefined;
    const has =
      container !== null &&
      typeof container === 'object' &&
      (Array.isArray(container) ? /^\d+$/.test(key) && Number(key) < container.length : Object.hasOwn(container, key));
    if (!has) {
      const at = path.slice(0, i + 1).join('.');
      throw new TemplateError(`${raw}: ${what} has no value at "${at}"`);
    }
    current = (container as Record<string, unknown>)[key];
  }
  return current;
}

export interface TemplateScope {
  input: unknown;
  /** Outputs of finished steps, by step id. */
  steps: Record<string, unknown>;
}

/** Returns a copy of `value` with every template replaced; throws TemplateError for a missing value. */
export function resolveTemplates(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') {
    const ref = parseTemplate(value);
    if (!ref) return value;
    if (ref.source === 'input') return walk(scope.input, ref.path, ref.raw, 'the run input');
    if (!Object.hasOwn(scope.steps, ref.stepId)) {
      throw new TemplateError(`${ref.raw}: step "${ref.stepId}" has no result`);
    }
    return walk(scope.steps[ref.stepId], ref.path, ref.raw, `the result of step "${ref.stepId}"`);
  }
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, scope));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, scope)]));
  }
  return value;
}

/**
 * The value later steps template on: `structuredContent` when the tool gives it, else a
 * single text content parsed as JSON, else that text; several contents stay as the array.
 */
export function stepOutput(result: {
  structuredContent?: unknown;
  content?: Array<{ type: string; text?: string }>;
}): unknown {
  if (result.structuredContent !== undefined && result.structuredContent !== null) return result.structuredContent;
  const content = result.content ?? [];
  if (content.length === 1 && content[0]?.type === 'text' && typeof content[0].text === 'string') {
    const text = content[0].text;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return content;
}
