/**
 * The downstream system (NRK's distribution: CDN, players). It is flaky — every third call fails as a
 * network error would — and offers two APIs: commands (what the old worker calls) and "here is the
 * whole desired state, version N" (what the new one pushes; older versions are ignored, so repeats and
 * reordering are harmless).
 */
import { EMPTY_STATE, type Change, type DesiredState } from './commands.js';

export class DistributionUnavailableError extends Error {
  readonly code = 'ERR_DISTRIBUTION_UNAVAILABLE';
  constructor() {
    super('distribution did not answer (simulated network failure)');
  }
}

export class Distribution {
  readonly states = new Map<string, DesiredState & { readonly version: number }>();
  calls = 0;
  failures = 0;

  constructor(private readonly failEvery = 3) {}

  /** Before: apply one command. Not idempotent: a repeated add lists the file twice. */
  execute(mediaSetId: string, change: Change): void {
    this.#maybeFail();
    const current = this.states.get(mediaSetId) ?? { ...EMPTY_STATE, version: 0 };
    const files = change.op === 'add-file' ? [...current.files, change.file] : change.op === 'remove-file' ? current.files.filter((f) => f !== change.file) : current.files;
    const published = change.op === 'publish' ? true : change.op === 'unpublish' ? false : current.published;
    this.states.set(mediaSetId, { files, published, version: current.version + 1 });
  }

  /** After: take the desired state if it is newer than what is there. */
  applyDesired(mediaSetId: string, version: number, desired: DesiredState): void {
    this.#maybeFail();
    const current = this.states.get(mediaSetId);
    if (!current || version > current.version) this.states.set(mediaSetId, { ...desired, version });
  }

  view(mediaSetId: string): DesiredState | undefined {
    const state = this.states.get(mediaSetId);
    return state && { files: state.files, published: state.published };
  }

  #maybeFail(): void {
    if (++this.calls % this.failEvery === 0) {
      this.failures++;
      throw new DistributionUnavailableError();
    }
  }
}
