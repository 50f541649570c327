import { describe, expect, it } from 'vitest';
import { OpenApiResponseChecker } from '../helpers/openapi-responses';

/** The checker every route test's responses go through must itself refuse what the document does not describe. */
describe('OpenApiResponseChecker', () => {
  const checker = new OpenApiResponseChecker({
    paths: {
      '/things/{id}': {
        get: {
          responses: {
            '200': {
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { thing: { type: 'string', nullable: true } as object },
                    required: ['thing'],
                  },
                },
              },
            },
            '429': {
              headers: { 'Retry-After': { required: true } },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
            },
          },
        },
      },
      '/things/special': { get: { responses: { '202': {}, '204': {} } } },
    },
    components: {
      schemas: { Error: { type: 'object', properties: { error: { type: 'object' } }, required: ['error'] } },
    },
  });
  const check = (path: string, response: Response) => checker.check('GET', `http://test${path}`, response);

  it('passes what the document describes (a nullable field, a literal path before a template)', async () => {
    await expect(check('/things/1', Response.json({ thing: null }))).resolves.toBeUndefined();
    await expect(check('/things/1', Response.json({ thing: 'x' }))).resolves.toBeUndefined();
    await expect(check('/things/special', new Response(null, { status: 204 }))).resolves.toBeUndefined();
    const limited = Response.json({ error: {} }, { status: 429, headers: { 'Retry-After': '3' } });
    await expect(check('/things/1', limited)).resolves.toBeUndefined();
  });

  it('refuses an undocumented status, body, media type or missing required header', async () => {
    await expect(check('/things/1', Response.json({ error: {} }, { status: 404 }))).rejects.toThrow(/status not in/);
    await expect(check('/things/1', Response.json({ thing: 3 }))).rejects.toThrow(/does not match/);
    await expect(check('/things/1', Response.json({}))).rejects.toThrow(/does not match/);
    await expect(check('/things/1', new Response('hi', { headers: { 'content-type': 'text/plain' } }))).rejects.toThrow(
      /content-type text\/plain not documented/,
    );
    await expect(check('/things/1', Response.json({ error: {} }, { status: 429 }))).rejects.toThrow(/Retry-After/);
    await expect(check('/things/special', Response.json({ thing: 'x' }, { status: 202 }))).rejects.toThrow(
      /not documented \(no body\)/,
    );
  });

  it('leaves paths the document does not describe alone', async () => {
    await expect(check('/ws', new Response('upgrade', { status: 426 }))).resolves.toBeUndefined();
  });
});
