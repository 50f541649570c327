/** Injected wall clock, so time-based rules (token expiry, login windows) are testable. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
