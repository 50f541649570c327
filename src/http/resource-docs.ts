import * as z from 'zod';
import { pageOf } from './pagination';
import { routeDoc } from './route-doc';

interface ResourceDocsOptions<Key extends string, Item extends z.ZodType> {
  /** The key one item travels under: `{ "project": {...} }`. */
  key: Key;
  item: Item;
  tag: string;
  summaries: Record<'create' | 'list' | 'get' | 'update' | 'remove', string>;
}

/**
 * The OpenAPI descriptions of a resource its owner creates, lists, reads, replaces and deletes
 * (projects, workflows): one response set for all of them, and the response schemas the docs
 * publish, so a client (the tests) types and checks the bodies with the same schemas.
 */
export function resourceDocs<const Key extends string, Item extends z.ZodType>(
  options: ResourceDocsOptions<Key, Item>,
) {
  const one = z.object({ [options.key]: options.item } as { [K in Key]: Item });
  const page = pageOf(options.item);
  const doc = (summary: string, status: number, description: string, schema: z.ZodType | undefined, errors: number[]) =>
    routeDoc({
      summary,
      tags: [options.tag],
      auth: 'user',
      responses: { [status]: { description, schema } },
      errors,
    });
  return {
    schemas: { one, page },
    create: doc(options.summaries.create, 201, 'Created', one, [413, 415]),
    list: doc(options.summaries.list, 200, `A page of ${options.tag.toLowerCase()}`, page, []),
    get: doc(options.summaries.get, 200, `The ${options.key}`, one, [404]),
    update: doc(options.summaries.update, 200, 'Updated', one, [404, 413, 415]),
    remove: doc(options.summaries.remove, 204, 'Deleted', undefined, [404]),
  };
}
