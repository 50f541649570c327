import { describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json';
import { bodies } from './helpers/response-bodies';

const project = {
  id: '6f1f7c1e-9c4e-4a43-9c55-0d0c3c1a2b3c',
  ownerId: '0b0a9c1e-9c4e-4a43-9c55-0d0c3c1a2b3c',
  name: 'p',
  description: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('readJson (the typed test client)', () => {
  it('returns the body as sent when it matches the published schema, fields it does not list included', async () => {
    const sent = { project: { ...project, extra: 1 } };
    expect(await readJson(Response.json(sent), bodies.project)).toEqual(sent);
  });

  it('fails on a body that strays from the schema, naming the field', async () => {
    const wrong = Response.json({ project: { ...project, createdAt: 'yesterday' } });
    await expect(readJson(wrong, bodies.project)).rejects.toThrow(/project\.createdAt/);
    await expect(readJson(new Response('<html>'), bodies.project)).rejects.toThrow(/not JSON/);
  });
});
