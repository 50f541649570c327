import * as z from 'zod';
import type { Project } from '../db/schema';
import { rowSerializer } from '../http/row-serializer';
import { timestamp } from '../http/timestamp-schema';

export const projectSchema = z.object({
  id: z.uuid(),
  ownerId: z.uuid(),
  name: z.string(),
  description: z.string().nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export type ProjectJson = z.infer<typeof projectSchema>;

export const toProjectJson: (p: Project) => ProjectJson = rowSerializer(projectSchema);
