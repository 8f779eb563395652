import { describe, expect, it } from 'vitest';
import { runExample } from './run-example.js';

describe('example: worker-embedded', () => {
  it('survives kill -9 half-way: after the restart every job is delivered', async () => {
    const { code, stdout, stderr } = await runExample('examples/worker-embedded/demo.ts', { JOBS: '120' });
    expect(stderr).toBe('');
    expect(stdout).toContain('demo: kill -9 the worker right after job 60 was accepted');
    expect(stdout).toContain('demo: worker 1 ended by SIGKILL');
    // The demo kills the worker when it reads "job 60 accepted"; the worker goes on meanwhile (about 5 ms
    // per job), so the restart finds job 60 and whatever came before the signal: not "60 to 69", but
    // everything up to 60 and not all 120 (300 ms and more of margin).
    const restart = /\[worker 2\] worker \d+ started: (\d+) notifications accepted so far/.exec(stdout);
    expect(restart, stdout).not.toBeNull();
    expect(Number(restart![1])).toBeGreaterThanOrEqual(60);
    expect(Number(restart![1])).toBeLessThan(120);
    expect(stdout).toContain('(accepted before the crash; not sent twice)');
    expect(stdout).toMatch(/demo: 120\/120 jobs delivered; \d+ duplicate deliveries \(at-least-once\), 120 distinct Idempotency-Keys; [1-9]\d* requests answered 503/);
    expect(stdout).toContain('demo: OK');
    expect(code).toBe(0);
  }, 60_000);
});
