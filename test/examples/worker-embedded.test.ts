import { describe, expect, it } from 'vitest';
import { runExample } from './run-example.js';

describe('example: worker-embedded', () => {
  it('survives kill -9 half-way: after the restart every job is delivered', async () => {
    const { code, stdout, stderr } = await runExample('examples/worker-embedded/demo.ts', { JOBS: '120' });
    expect(stderr).toBe('');
    expect(stdout).toContain('demo: kill -9 the worker right after job 60 was accepted');
    expect(stdout).toContain('demo: worker 1 ended by SIGKILL');
    expect(stdout).toMatch(/\[worker 2\] worker \d+ started: (6\d) notifications accepted so far/);
    expect(stdout).toContain('(accepted before the crash; not sent twice)');
    expect(stdout).toMatch(/demo: 120\/120 jobs delivered; \d+ duplicate deliveries \(at-least-once\), 120 distinct Idempotency-Keys; [1-9]\d* requests answered 503/);
    expect(stdout).toContain('demo: OK');
    expect(code).toBe(0);
  }, 60_000);
});
