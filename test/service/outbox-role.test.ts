/**
 * OutboxOwnership and OutboxHolder without processes or a database: fake leases and fake outboxes, so
 * the role's transitions (standby, takeover, step-down, close) are checked one by one.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Outbox } from '../../delivery/outbox/outbox.js';
import type { Lease } from '../../src/persistence/journal.js';
import { OutboxHolder, OutboxOwnership } from '../../service/outbox-role.js';
import { ServiceUnavailableError } from '../../service/errors.js';

class FakeLease implements Lease {
  held = true;
  released = false;
  readonly lost: Promise<Error>;
  #lose!: (error: Error) => void;
  constructor(readonly name: string) {
    this.lost = new Promise((resolve) => (this.#lose = resolve));
  }
  lose(): void {
    this.held = false;
    this.#lose(new Error('connection terminated'));
  }
  async release(): Promise<void> {
    this.held = false;
    this.released = true;
  }
}

interface FakeOutbox {
  stopped: boolean;
  stop(): Promise<void>;
}

function fakeOutbox(): FakeOutbox {
  const outbox: FakeOutbox = {
    stopped: false,
    stop: async () => {
      outbox.stopped = true;
    },
  };
  return outbox;
}

function setup(grants: (() => Lease | undefined | Promise<Lease | undefined>) | undefined, onStart: () => void = () => {}) {
  const holder = new OutboxHolder('schema test');
  const messages: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => messages.push((JSON.parse(line) as { msg: string }).msg) });
  const outboxes: FakeOutbox[] = [];
  const ownership = new OutboxOwnership({
    holder,
    logger,
    acquire: grants && (async () => grants()),
    startOutbox: async () => {
      const outbox = fakeOutbox();
      outboxes.push(outbox);
      onStart();
      return outbox as unknown as Outbox;
    },
    pollIntervalMs: 10,
  });
  const until = async (what: string, check: () => boolean): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; log: ${messages.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  return { holder, messages, outboxes, ownership, until };
}

describe('OutboxOwnership', () => {
  it('is active at once when the store needs no lease', async () => {
    const { holder, ownership, outboxes } = setup(undefined);
    expect(holder.role).toBe('standby');
    expect(() => holder.get()).toThrow(ServiceUnavailableError);
    expect(await ownership.start()).toBe('active');
    expect(holder.role).toBe('active');
    expect(holder.get()).toBe(outboxes[0]);
    await ownership.close();
    expect(holder.role).toBe('active'); // closing leaves the outbox to the system's termination
  });

  it('waits as standby while the lease is taken, takes over when it frees, steps down when it is lost', async () => {
    let free = false;
    const leases: FakeLease[] = [];
    const { holder, messages, outboxes, ownership, until } = setup(() => {
      if (!free) return undefined;
      free = false;
      const lease = new FakeLease('outbox:outbox');
      leases.push(lease);
      return lease;
    });
    expect(await ownership.start()).toBe('standby');
    expect(holder.role).toBe('standby');
    expect(messages).toContain('another process holds the outbox of schema test; waiting as hot standby');
    const refusal = (() => {
      try {
        holder.get();
      } catch (error) {
        return error as ServiceUnavailableError;
      }
      return undefined;
    })();
    expect(refusal).toMatchObject({ status: 503, code: 'standby', headers: { 'Retry-After': '1' } });

    free = true;
    await until('taken over', () => holder.role === 'active');
    expect(messages).toContain('took over the outbox of schema test (the active process is gone); recovering');
    expect(messages).toContain('active: the outbox of schema test is ours');
    expect(holder.get()).toBe(outboxes[0]);

    leases[0]!.lose();
    await until('stepped down', () => outboxes[0]!.stopped);
    expect(holder.role).toBe('standby');
    expect(messages).toContain('lost the outbox lease of schema test; stepping down: no more accepting or sending here');
    expect(messages.filter((m) => m.endsWith('waiting as hot standby'))).toHaveLength(2);

    free = true;
    await until('active again', () => holder.role === 'active');
    expect(holder.get()).toBe(outboxes[1]);
    await ownership.close();
    expect(leases[1]!.released).toBe(false); // the journal's close releases it, after the last write
  });

  it('a lease lost while active: until it is taken again the answers and the log say so, not that another process holds it', async () => {
    const leases: FakeLease[] = [];
    let gate: { open: () => void; opened: Promise<void> } | undefined;
    let asked = 0;
    const { holder, messages, outboxes, ownership, until } = setup(async () => {
      asked++;
      await gate?.opened;
      const lease = new FakeLease('outbox:outbox');
      leases.push(lease);
      return lease;
    });
    expect(await ownership.start()).toBe('active');
    await until('active', () => holder.role === 'active');

    // The retake waits at the gate: that is the window a client can meet.
    let open!: () => void;
    gate = { open: () => open(), opened: new Promise<void>((resolve) => (open = resolve)) };
    leases[0]!.lose();
    await until('asking for the lease again', () => outboxes[0]!.stopped && asked === 2);
    expect(holder.phase).toBe('standby');
    expect(() => holder.get()).toThrow(
      expect.objectContaining({
        status: 503,
        code: 'standby',
        headers: { 'Retry-After': '1' },
        message: 'the outbox lease of schema test was lost; this process is taking it again: retry shortly (should another process take it first, send there)',
      }),
    );
    expect(holder.standbyReason).toBe('the outbox lease of schema test was lost; this process is taking it again');

    gate.open();
    await until('active again', () => holder.role === 'active');
    expect(holder.get()).toBe(outboxes[1]);
    expect(messages).toEqual([
      'lost the outbox lease of schema test; stepping down: no more accepting or sending here',
      'took the outbox of schema test again after losing its lease; recovering',
      'active: the outbox of schema test is ours',
    ]);
    await ownership.close();
  });

  it('a lease lost while active and taken by another process first: a plain standby from then on', async () => {
    let free = true;
    const leases: FakeLease[] = [];
    const { holder, messages, ownership, until } = setup(() => {
      if (!free) return undefined;
      const lease = new FakeLease('outbox:outbox');
      leases.push(lease);
      return lease;
    });
    expect(await ownership.start()).toBe('active');
    free = false;
    leases[0]!.lose();
    await until('a standby', () => messages.includes('another process holds the outbox of schema test; waiting as hot standby'));
    expect(holder.standbyReason).toBe('another process holds the outbox of schema test');
    expect(() => holder.get()).toThrow(expect.objectContaining({ code: 'standby', message: expect.stringContaining('this process is a hot standby') }));
    free = true;
    await until('took over', () => holder.role === 'active');
    expect(messages).toContain('took over the outbox of schema test (the active process is gone); recovering');
    expect(messages.some((m) => m.includes('again after losing its lease'))).toBe(false);
    await ownership.close();
  });

  it('fails start when the store cannot be asked at first; later failures only delay the takeover, with one warning', async () => {
    const failing = setup(() => {
      throw new Error('connection refused');
    });
    await expect(failing.ownership.start()).rejects.toThrow('connection refused');
    expect(failing.holder.role).toBe('standby');

    let calls = 0;
    const { holder, messages, ownership, until } = setup(() => {
      calls++;
      if (calls === 1) return undefined; // at start: someone holds it
      if (calls < 6) throw new Error('connection refused');
      return new FakeLease('outbox:outbox');
    });
    expect(await ownership.start()).toBe('standby');
    await until('taken over', () => holder.role === 'active');
    expect(messages.filter((m) => m.startsWith('cannot ask for the outbox lease of schema test'))).toHaveLength(1);
    expect(messages.filter((m) => m.startsWith('the store answers again'))).toHaveLength(1);
    await ownership.close();
  });

  it('a lease lost while the outbox recovers: the outbox is stopped, the lease released, back to standby', async () => {
    const leases: FakeLease[] = [];
    let starts = 0;
    const { holder, messages, outboxes, ownership, until } = setup(
      () => {
        if (leases.length >= 2) return undefined;
        const lease = new FakeLease('outbox:outbox');
        leases.push(lease);
        return lease;
      },
      () => {
        if (++starts === 1) leases[0]!.lose();
      },
    );
    expect(await ownership.start()).toBe('standby');
    await until('the first outbox stopped', () => outboxes[0]?.stopped === true);
    expect(leases[0]!.released).toBe(true);
    await until('active on the second lease', () => holder.role === 'active');
    expect(holder.get()).toBe(outboxes[1]);
    expect(messages).toContain('lost the outbox lease of schema test while the outbox recovered; stepping down');
    // Its own lease lost, not taken by anyone: it took the outbox again without calling itself a standby of another.
    expect(messages.filter((m) => m.endsWith('waiting as hot standby'))).toHaveLength(0);
    expect(messages).toContain('took the outbox of schema test again after losing its lease; recovering');
    await ownership.close();
  });

  it('a close while waiting stops the polling', async () => {
    let tries = 0;
    const { ownership } = setup(() => {
      tries++;
      return undefined;
    });
    expect(await ownership.start()).toBe('standby');
    await ownership.close();
    const after = tries;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(tries).toBe(after);
  });
});
