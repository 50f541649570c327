import * as z from 'zod';

export const idParam = z.object({ id: z.uuid({ message: 'must be a UUID' }) });
