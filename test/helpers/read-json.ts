import * as z from 'zod';

/**
 * The JSON body of `res`, typed by the app's own response schema and checked against it: a body
 * that strays from the schema fails the test here, naming the field. The value returned is the
 * body as sent (not zod's parsed copy), so a field the schema does not list still shows.
 */
export async function readJson<Schema extends z.ZodType>(res: Response, schema: Schema): Promise<z.output<Schema>> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${res.status} ${res.url}: the body is not JSON: ${text.slice(0, 300)}`);
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new Error(
      `${res.status} ${res.url}: the body does not match its schema:\n${z.prettifyError(result.error)}\n${text.slice(0, 500)}`,
    );
  }
  return body as z.output<Schema>;
}
