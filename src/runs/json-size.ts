/**
 * The UTF-8 length of `JSON.stringify(value)`, counted by walking the value instead of building
 * the string, and abandoned as soon as it passes `limit` (the result is then some number above
 * it). Templated arguments share their values by reference, so a step whose arguments name one
 * large result a thousand times is measured here in at most `limit` bytes of work, where
 * serialising it would allocate a thousand copies.
 */
export function jsonByteLength(value: unknown, limit = Number.POSITIVE_INFINITY, memo?: JsonSizeMemo): number {
  const counter = { bytes: 0, limit, memo };
  measure(value, counter, false);
  return counter.bytes;
}

/**
 * Sizes of objects and arrays measured before, by identity. A run keeps one: each later step
 * whose arguments name an earlier result then costs a lookup, not another walk of that result.
 * Valid while the values are not mutated (results and resolved arguments never are).
 */
export type JsonSizeMemo = WeakMap<object, number>;

/** Smaller containers are measured again rather than remembered (the memo stays small). */
const MEMO_MIN_BYTES = 1024;

interface Counter {
  bytes: number;
  limit: number;
  memo: JsonSizeMemo | undefined;
}

/** `inArray`: `undefined`, functions and symbols become `null` there and vanish from objects. */
function measure(value: unknown, counter: Counter, inArray: boolean): void {
  if (counter.bytes > counter.limit) return;
  switch (typeof value) {
    case 'string':
      counter.bytes += stringBytes(value);
      return;
    case 'number':
      counter.bytes += Number.isFinite(value) ? String(value).length : 4;
      return;
    case 'boolean':
      counter.bytes += value ? 4 : 5;
      return;
    case 'bigint':
      // JSON.stringify throws on it; count it as its digits so a caller measuring first still sees a size.
      counter.bytes += String(value).length;
      return;
    case 'object':
      break;
    default:
      if (inArray) counter.bytes += 4;
      return;
  }
  if (value === null) {
    counter.bytes += 4;
    return;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    measure(toJSON.call(value), counter, inArray);
    return;
  }
  const known = counter.memo?.get(value);
  if (known !== undefined) {
    counter.bytes += known;
    return;
  }
  const before = counter.bytes;
  measureContainer(value, counter);
  const bytes = counter.bytes - before;
  // Only a complete count is remembered: an abandoned one is some number above the limit.
  if (counter.memo && bytes >= MEMO_MIN_BYTES && counter.bytes <= counter.limit) counter.memo.set(value, bytes);
}

function measureContainer(value: object, counter: Counter): void {
  if (Array.isArray(value)) {
    counter.bytes += 2 + Math.max(0, value.length - 1);
    for (const item of value) {
      measure(item, counter, true);
      if (counter.bytes > counter.limit) return;
    }
    return;
  }
  counter.bytes += 2;
  let members = 0;
  for (const key in value as Record<string, unknown>) {
    if (!Object.hasOwn(value as object, key)) continue;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    if (members++ > 0) counter.bytes += 1;
    counter.bytes += stringBytes(key) + 1;
    measure(item, counter, false);
    if (counter.bytes > counter.limit) return;
  }
}

/** Characters JSON writes other than as their UTF-8 bytes (escapes), and surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly these control characters.
const SPECIAL = /["\\\u0000-\u001f\ud800-\udfff]/;
const encoder = new TextEncoder();
/** Scratch space the encoder writes into only to count: a third of it in UTF-16 units always fits. */
const scratch = new Uint8Array(48 * 1024);
const CHUNK = scratch.length / 3;

/**
 * A JSON string literal's UTF-8 length: quotes, escapes, and multi-byte characters. Long strings
 * without escapes or surrogates (nearly all) are counted by native code: a regular expression
 * finds none, the encoder counts the bytes; the rest go character by character.
 */
function stringBytes(text: string): number {
  if (text.length < 32 || SPECIAL.test(text)) return stringBytesByCharacter(text);
  let bytes = 2;
  for (let at = 0; at < text.length; at += CHUNK) {
    bytes += encoder.encodeInto(text.length <= CHUNK ? text : text.slice(at, at + CHUNK), scratch).written;
  }
  return bytes;
}

function stringBytesByCharacter(text: string): number {
  let bytes = 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (
      code === 0x22 ||
      code === 0x5c ||
      code === 0x08 ||
      code === 0x09 ||
      code === 0x0a ||
      code === 0x0c ||
      code === 0x0d
    ) {
      bytes += 2;
    } else if (code < 0x20) bytes += 6;
    else if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 6; // a lone surrogate is written as \uXXXX
    } else if (code >= 0xdc00 && code <= 0xdfff) bytes += 6;
    else bytes += 3;
  }
  return bytes;
}
