import type * as z from 'zod';

/** A column as the database hands it over: a point in time is a Date where the JSON carries its ISO string. */
type ColumnOf<T> = T extends string ? T | Date : T;

/** A row holding (at least) every field of the response schema `Json`. */
type RowOf<Json> = { [K in keyof Json]: ColumnOf<Json[K]> };

/**
 * The serializer of a table row into its response schema: exactly the schema's fields (nothing
 * else of the row leaves the API: a password hash has no field to travel in), dates as
 * `toISOString()`, the timestamp format every response uses.
 */
export function rowSerializer<Schema extends z.ZodObject>(schema: Schema) {
  const fields = Object.keys(schema.shape);
  return (row: RowOf<z.output<Schema>>): z.output<Schema> => {
    const json: Record<string, unknown> = {};
    for (const field of fields) {
      const value = (row as Record<string, unknown>)[field];
      json[field] = value instanceof Date ? value.toISOString() : value;
    }
    return json as z.output<Schema>;
  };
}
