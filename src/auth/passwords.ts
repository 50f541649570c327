import bcrypt from 'bcryptjs';

export const PASSWORD_MIN_BYTES = 8;
// bcrypt ignores everything past 72 bytes; longer passwords are refused rather than truncated.
export const PASSWORD_MAX_BYTES = 72;

export function passwordByteLength(password: string): number {
  return new TextEncoder().encode(password).length;
}

/**
 * bcrypt through bcryptjs' async API, which yields to the event loop between rounds so a
 * burst of logins does not freeze other requests. The dummy hash lets a login for an unknown
 * user spend the same time as a wrong password (no user enumeration by timing).
 */
export class PasswordHasher {
  private dummyHash?: Promise<string>;

  constructor(private readonly cost: number) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.cost);
  }

  verify(password: string, hash: string): Promise<boolean> {
    return bcrypt.compare(password, hash);
  }

  /** Burns one comparison's worth of time; always false. */
  async verifyAgainstNobody(password: string): Promise<false> {
    // Through hash/verify, so a subclass that moves bcrypt elsewhere moves this too.
    this.dummyHash ??= this.hash('timing-equaliser-password');
    await this.verify(password, await this.dummyHash);
    return false;
  }
}
