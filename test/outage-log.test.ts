import { describe, expect, it } from 'vitest';
import { OutageLog } from '../src/logging/outage-log';
import { RecordingLogger } from './helpers/recording-logger';

describe('OutageLog', () => {
  it('logs going down and coming back once each, and reminders at doubling gaps (30 s, 60 s, ... at most 10 min)', () => {
    const logger = new RecordingLogger();
    let now = 0;
    const outage = new OutageLog(logger, { redis: 'api' }, 'redis', () => now);
    const failEvery = (ms: number, until: number) => {
      for (; now < until; now += ms) outage.failed(new Error('connect ECONNREFUSED'));
    };
    failEvery(200, 60_000);
    expect(outage.isDown).toBe(true);
    expect(outage.reason).toBe('connect ECONNREFUSED');
    // 300 attempts in the first minute: the outage line, then reminders at 30 s and 90 s (not yet).
    expect(logger.lines.map((l) => l.message)).toEqual(['redis unavailable', 'redis still unavailable']);
    failEvery(2000, 60 * 60_000);
    const reminders = logger.lines.filter((l) => l.message === 'redis still unavailable');
    const gaps = reminders
      .slice(1)
      .map((l, i) => (l.fields.downForMs as number) - (reminders[i]?.fields.downForMs as number));
    expect(gaps.slice(0, 4)).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(Math.max(...gaps)).toBe(600_000);
    expect(reminders.length).toBeLessThan(12);

    outage.recovered();
    outage.recovered();
    expect(logger.lines.filter((l) => l.message === 'redis available again')).toHaveLength(1);
    expect(logger.lines.at(-1)?.fields).toMatchObject({ redis: 'api', downForMs: 60 * 60_000 });
    outage.failed(new Error('again'));
    expect(logger.lines.at(-1)?.message).toBe('redis unavailable');
  });
});
