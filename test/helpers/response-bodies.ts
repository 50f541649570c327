import { sessionSchema } from '../../src/auth/session';
import { errorBodySchema } from '../../src/errors/error-body';
import { healthSchema } from '../../src/health/health.openapi';
import { projectDocs } from '../../src/projects/projects.openapi';
import { runResponses } from '../../src/runs/runs.openapi';
import { toolListSchema } from '../../src/tools/tools.openapi';
import { userResponses } from '../../src/users/users.openapi';
import { workflowDocs } from '../../src/workflows/workflows.openapi';

/** The response schemas the API publishes, by the body a test reads: `readJson(res, bodies.project)`. */
export const bodies = {
  session: sessionSchema,
  error: errorBodySchema,
  health: healthSchema,
  user: userResponses.one,
  users: userResponses.page,
  project: projectDocs.schemas.one,
  projects: projectDocs.schemas.page,
  workflow: workflowDocs.schemas.one,
  workflows: workflowDocs.schemas.page,
  run: runResponses.one,
  runs: runResponses.page,
  runQueue: runResponses.queue,
  tools: toolListSchema,
};
