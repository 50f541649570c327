import * as z from 'zod';

/** How every response carries a point in time: ISO 8601 with an offset (`toISOString()`). */
export const timestamp = z.iso.datetime({ offset: true });
