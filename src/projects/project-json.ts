import * as z from 'zod';
import type { Project } from '../db/schema';
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

export function toProjectJson(p: Project): ProjectJson {
  return {
    id: p.id,
    ownerId: p.ownerId,
    name: p.name,
    description: p.description,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
