import { type Schema, Validator } from '@cfworker/json-schema';
import * as z from 'zod';

const jsonSchema = z.custom<Schema>((value) => typeof value === 'object' && value !== null);

/** The part of an OpenAPI operation the tests read. */
const operation = z.object({
  security: z.array(z.record(z.string(), z.array(z.string()))).optional(),
  parameters: z.array(z.object({ name: z.string(), in: z.string(), required: z.boolean().optional() })).optional(),
  requestBody: z.unknown().optional(),
  responses: z.record(
    z.string(),
    z.object({
      content: z.record(z.string(), z.object({ schema: jsonSchema.optional() })).optional(),
      headers: z
        .record(z.string(), z.object({ required: z.boolean().optional(), schema: jsonSchema.optional() }))
        .optional(),
    }),
  ),
});
type OpenApiOperation = z.output<typeof operation>;

/** The API's published document (GET /openapi.json), as far as the tests read it: `readJson(res, openApiDocument)`. */
export const openApiDocument = z.object({
  openapi: z.string(),
  paths: z.record(z.string(), z.record(z.string(), operation)),
  // Read freely by the OpenAPI test; the checker resolves `$ref`s into `schemas`.
  components: z.record(z.string(), z.any()),
});
/** What the checker needs of a document: its operations and the schemas they refer to. */
type CheckedDocument = Pick<z.output<typeof openApiDocument>, 'paths'> & {
  components?: { schemas?: Record<string, Schema> };
};

/**
 * Holds every response a route test receives to the API's published document (GET
 * /openapi.json): its status must be documented for that operation, its media type among the
 * documented ones, its JSON body valid against the documented schema, and every header the
 * document marks required present. Paths the document does not describe (/ws, /docs, unknown
 * URLs) are not checked: the OpenAPI test holds the document's path list to the app's routes.
 */
export class OpenApiResponseChecker {
  private readonly operations: Array<{
    pattern: RegExp;
    params: number;
    path: string;
    item: Record<string, OpenApiOperation>;
  }>;
  private readonly validators = new Map<Schema, Validator>();

  constructor(private readonly doc: CheckedDocument) {
    this.operations = Object.entries(doc.paths).map(([path, item]) => ({
      path,
      item,
      params: (path.match(/\{/g) ?? []).length,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
    // A literal path (/api/workflows/queue) wins over a template that also matches it (/api/workflows/{id}).
    this.operations.sort((a, b) => a.params - b.params);
  }

  /** Throws an Error naming the request and what in its response the document does not describe. */
  async check(method: string, url: string, response: Response): Promise<void> {
    const pathname = new URL(url, 'http://test').pathname;
    const entry = this.operations.find((candidate) => candidate.pattern.test(pathname));
    const operation = entry?.item[method.toLowerCase()];
    if (!entry || !operation) return;
    const where = `${method.toUpperCase()} ${pathname} → ${response.status} (documented as ${method.toUpperCase()} ${entry.path})`;
    const documented = operation.responses[String(response.status)] ?? operation.responses.default;
    if (!documented) {
      const statuses = Object.keys(operation.responses).join(', ');
      throw new Error(`${where}: status not in the OpenAPI document (${statuses})`);
    }
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      if (header.required && !response.headers.has(name)) throw new Error(`${where}: required header ${name} missing`);
    }
    const contentType = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    // Media types as documented, parameters aside (`text/plain; version=0.0.4`).
    const media = Object.fromEntries(
      Object.entries(documented.content ?? {}).map(([type, value]) => [
        type.split(';')[0]?.trim().toLowerCase(),
        value,
      ]),
    );
    if (contentType === 'text/event-stream') {
      // A stream may never end: its media type is all there is to check without waiting for it.
      if (!(contentType in media)) throw new Error(`${where}: ${contentType} not documented`);
      return;
    }
    const body = await response.text();
    if (body === '') {
      if (Object.keys(media).length > 0 && method.toUpperCase() !== 'HEAD') {
        throw new Error(`${where}: empty body, the document describes ${Object.keys(media).join(', ')}`);
      }
      return;
    }
    if (!contentType || !(contentType in media)) {
      throw new Error(
        `${where}: content-type ${contentType} not documented (${Object.keys(media).join(', ') || 'no body'})`,
      );
    }
    const schema = media[contentType]?.schema;
    if (!schema || !contentType.includes('json')) return;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      throw new Error(`${where}: ${contentType} body is not JSON: ${body.slice(0, 200)}`);
    }
    const result = this.validatorOf(schema).validate(value);
    if (!result.valid) {
      const errors = result.errors
        .slice(0, 5)
        .map((error) => `${error.instanceLocation} ${error.error}`)
        .join('; ');
      throw new Error(`${where}: body does not match the document: ${errors}\n${body.slice(0, 1000)}`);
    }
  }

  private validatorOf(schema: Schema): Validator {
    let validator = this.validators.get(schema);
    if (!validator) {
      validator = new Validator(this.resolve(schema) as Schema, '2020-12', false);
      this.validators.set(schema, validator);
    }
    return validator;
  }

  /** Inlines `#/components/schemas/*` and reads OpenAPI 3.0's `nullable` as JSON Schema does (a `null` type). */
  private resolve(node: unknown): unknown {
    if (Array.isArray(node)) return node.map((item) => this.resolve(item));
    if (!node || typeof node !== 'object') return node;
    const object = node as Record<string, unknown>;
    if (typeof object.$ref === 'string') {
      const name = object.$ref.replace('#/components/schemas/', '');
      const target = this.doc.components?.schemas?.[name];
      if (!target) throw new Error(`unresolved ${object.$ref}`);
      return this.resolve(target);
    }
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(object)) resolved[key] = this.resolve(value);
    if (resolved.nullable === true) {
      delete resolved.nullable;
      if (typeof resolved.type === 'string') resolved.type = [resolved.type, 'null'];
      if (Array.isArray(resolved.enum) && !resolved.enum.includes(null)) resolved.enum = [...resolved.enum, null];
    }
    return resolved;
  }
}
