import type { TestProject } from 'vitest/node';
import { buildEdgeBundle } from './edge-build';

declare module 'vitest' {
  export interface ProvidedContext {
    edgeBundle: string;
  }
}

/** `npm run test:edge` builds the deployable bundle once; every test file runs that same file in workerd. */
export default async function setup(project: TestProject) {
  project.provide('edgeBundle', (await buildEdgeBundle()).script);
}
