import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
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

  it('answers false for a malformed hash and refuses work after close', async () => {
    expect(await hasher.verify('x', 'not-a-bcrypt-hash')).toBe(false);
    const other = new ThreadedPasswordHasher(10, 1);
    await other.close();
    await expect(other.hash('x')).rejects.toThrow(/closed/);
  });
});
