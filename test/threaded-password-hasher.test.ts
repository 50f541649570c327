import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { PasswordHasher } from '../src/auth/passwords';
import { ThreadedPasswordHasher } from '../src/node/threaded-password-hasher';

describe('ThreadedPasswordHasher (bcrypt on worker threads)', () => {
  const hasher = new ThreadedPasswordHasher(10, 2);
  afterAll(() => hasher.close());

  it('hashes and verifies, compatibly with bcryptjs in the main thread', async () => {
    const hash = await hasher.hash('correct-horse');
    expect(hash).toMatch(/^\$2b\$10\$/);
    expect(bcrypt.compareSync('correct-horse', hash)).toBe(true);
    expect(await hasher.verify('correct-horse', hash)).toBe(true);
    expect(await hasher.verify('wrong-horse', hash)).toBe(false);
    expect(await hasher.verify('battery-staple', bcrypt.hashSync('battery-staple', 10))).toBe(true);
    expect(await hasher.verifyAgainstNobody('anything')).toBe(false);
  });

  it('keeps the event loop free while many hashes run, unlike bcryptjs async in this thread', async () => {
    async function worstTimerGapMs(passwords: PasswordHasher): Promise<number> {
      let last = performance.now();
      let worst = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 5);
      const hashes = await Promise.all(Array.from({ length: 8 }, (_, i) => passwords.hash(`password-${i}`)));
      clearInterval(timer);
      expect(new Set(hashes).size).toBe(8);
      return worst;
    }
    await Promise.all([hasher.hash('warm-up-1'), hasher.hash('warm-up-2')]);
    const threaded = await worstTimerGapMs(hasher);
    // In this thread the 8 hashes' chunks run back to back: the loop stalls for all of them (~0.5-1 s).
    const inThread = await worstTimerGapMs(new PasswordHasher(10));
    expect(inThread).toBeGreaterThan(200);
    expect(threaded).toBeLessThan(inThread / 2);
  });

  it('answers false for a malformed hash and refuses work after close', async () => {
    expect(await hasher.verify('x', 'not-a-bcrypt-hash')).toBe(false);
    const other = new ThreadedPasswordHasher(10, 1);
    await other.close();
    await expect(other.hash('x')).rejects.toThrow(/closed/);
  });
});
