/** Polls `probe` until it yields something other than undefined (the test's own timeout bounds it). */
export async function until<T>(probe: () => Promise<T | undefined> | T | undefined, everyMs = 50): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
