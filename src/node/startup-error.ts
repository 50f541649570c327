/** A start-up failure whose message already says what to change (a taken port, an unusable database): printed as it is. */
export class StartupError extends Error {
  override name = 'StartupError';
}
