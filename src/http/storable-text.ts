import type { ZodType } from 'zod';
import * as z from 'zod';

/**
 * Text Postgres can store as given. U+0000 is refused in `text` (22021) and `jsonb` (22P05);
 * a lone UTF-16 surrogate is not Unicode at all: `jsonb` refuses it (22P02) and a `text`
 * column silently gets U+FFFD instead. Both are turned away at validation, with a 400.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL (U+0000) or unpaired surrogate characters';

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/** The one check every string a request carries goes through (see `text()` and `jsonObject()`). */
export function storable<T extends ZodType<string>>(schema: T): T {
  return schema.refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
}

/** `z.string()` for request fields. */
export function text() {
  return storable(z.string());
}

/**
 * A name: surrounding whitespace is removed, then 1 to `max` characters must remain. The
 * document says so from here (`\S`: not only whitespace), beside the checks that enforce it.
 */
export function trimmedName(max: number) {
  return text()
    .trim()
    .min(1)
    .max(max)
    .meta({
      pattern: '\\S',
      description: `Surrounding whitespace is removed; 1-${max} characters must remain`,
    });
}

// A 1 MiB body full of bad strings would otherwise answer with tens of thousands of issues.
const MAX_REPORTED = 10;

/** Run input and step arguments nest at most this deep (deeper would overflow recursive JSON code, ours or a driver's). */
export const MAX_JSON_DEPTH = 64;

interface Visit {
  value: unknown;
  depth: number;
  key?: string | number;
  parent?: Visit;
}

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/**
 * What in a JSON value cannot be stored: keys and strings that are not storable text, and
 * nesting past MAX_JSON_DEPTH. Iterative, and paths are only built for what is reported: a
 * body nested 100 000 levels deep must neither overflow the stack nor copy a path per level.
 */
export function jsonProblems(root: unknown, limit = MAX_REPORTED): JsonProblem[] {
  const found: JsonProblem[] = [];
  const pending: Visit[] = [{ value: root, depth: 0 }];
  while (pending.length > 0 && found.length < limit) {
    const visit = pending.pop() as Visit;
    const { value, depth } = visit;
    if (typeof value === 'string') {
      if (!isStorableText(value)) found.push({ path: pathOf(visit), message: UNSTORABLE_TEXT_MESSAGE });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) {
      found.push({ path: pathOf(visit), message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` });
      continue;
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        pending.push({ value: value[i], depth: depth + 1, key: i, parent: visit });
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (!isStorableText(key)) found.push({ path: [...pathOf(visit), key], message: UNSTORABLE_TEXT_MESSAGE });
      pending.push({ value: child, depth: depth + 1, key, parent: visit });
    }
  }
  return found.slice(0, limit);
}

/** A JSON object from a request (run input, step arguments): its keys and strings at any depth are checked, and its depth. */
export function jsonObject() {
  return z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    for (const { path, message } of jsonProblems(value))
      ctx.addIssue({ code: 'custom', path, message, continue: false });
  });
}
