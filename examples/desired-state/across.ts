/**
 * After, with the media-set entities spread over two processes (`amqpEntities`): this process and a
 * second one (`member.ts`, forked), each an actor system with its own PostgreSQL journal session on one
 * schema, share the entity space. RabbitMQ carries each command to the member that owns its media set (a
 * stable hash over 2 partitions; each member holds one), the shared journal holds the entities' events,
 * and the leases that decide who owns what come through that journal. Each process has its own flaky
 * distribution; every push is delivered at-least-once until confirmed, by whichever member owns it.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { ActorSystem, type DeliveryConfirmed, type JsonValue } from 'steadfast';
import { amqpEntities, DeliveryApplied, GetEntityState, InboundDelivery, type AmqpEntities } from 'steadfast/amqp';
import { postgresJournal, postgresSnapshotStore } from 'steadfast/postgres';
import { DistributionGateway, MediaSetEntity, type GetMediaSet, type Ingest } from './after.js';
import type { CommandMessage, DesiredState } from './commands.js';
import { Distribution } from './distribution.js';

/** What a member answers about its media set (JSON: it travels back over RabbitMQ). */
export interface MediaSetView {
  readonly desired: DesiredState;
  readonly version: number;
  readonly unconfirmed: number;
  readonly member: string;
  /** The process that served it. */
  readonly pid: number;
  readonly duplicates: readonly string[];
  /** What the serving member's distribution shows for the media set. */
  readonly downstream: DesiredState | null;
  readonly [key: string]: unknown;
}

/**
 * MediaSetEntity of after.ts, fed by amqpEntities: a command arrives as an InboundDelivery and is
 * answered with DeliveryApplied once persisted; GetEntityState answers the view (what `ask` returns).
 * The command's own messageId stays the idempotency key, for a queue's redelivery and amqpEntities' alike.
 */
class MediaSetMember extends MediaSetEntity<InboundDelivery | GetEntityState> {
  readonly #duplicates: string[] = [];

  constructor(
    private readonly id: string,
    private readonly member: string,
    private readonly distribution: Distribution,
  ) {
    super(id, '/user/distribution');
  }

  override onCommand(command: Ingest | GetMediaSet | DeliveryConfirmed | InboundDelivery | GetEntityState): void {
    if (command instanceof InboundDelivery) {
      const replyTo = this.sender;
      const message = command.body as unknown as CommandMessage | { readonly query: true };
      if ('query' in message) return replyTo.tell(new DeliveryApplied(command.messageId, true));
      this.ingest(message, (result) => {
        if (result === 'duplicate') this.#duplicates.push(message.messageId);
        replyTo.tell(new DeliveryApplied(command.messageId, result === 'duplicate'));
      });
    } else if (command === GetEntityState.instance) {
      this.sender.tell({
        ...this.view(),
        member: this.member,
        pid: process.pid,
        duplicates: this.#duplicates,
        downstream: this.distribution.view(this.id) ?? null,
      } satisfies MediaSetView);
    } else {
      super.onCommand(command);
    }
  }
}

export interface AcrossReport {
  /** Per media set: the member that served it, the duplicates it recognised and its distribution's view. */
  readonly views: ReadonlyMap<string, MediaSetView>;
}

/** Where the two members meet: one schema, one entity type (so one set of partition queues). */
export interface AcrossPlace {
  readonly amqpUrl: string;
  readonly connectionString: string;
  readonly schema: string;
  readonly typeName: string;
}

/** One member: an actor system on the shared schema, its distribution gateway, its share of the entities. */
export async function startMember(place: AcrossPlace, member: string, logger: Logger): Promise<{ region: AmqpEntities; stop(): Promise<void> }> {
  const journalOptions = { connectionString: place.connectionString, schema: place.schema, applicationName: `desired-state-${member}` };
  const system = ActorSystem.create(`member-${member}`, { journal: postgresJournal(journalOptions), snapshotStore: postgresSnapshotStore(journalOptions), logger });
  const distribution = new Distribution();
  system.actorOf(() => new DistributionGateway(distribution), 'distribution');
  const region = amqpEntities({
    system,
    url: place.amqpUrl,
    typeName: place.typeName,
    partitions: 2,
    rebalanceIntervalMs: 100,
    logger,
    entity: (id) => new MediaSetMember(id, member, distribution),
  });
  await region.start();
  return {
    region,
    stop: async () => {
      await region.stop();
      await system.terminate();
    },
  };
}

/** Member b in a process of its own (member.ts), with the loader this process runs with (tsx). */
async function forkMember(place: AcrossPlace): Promise<{ stop(): Promise<void> }> {
  const child = fork(fileURLToPath(new URL('./member.ts', import.meta.url)), [JSON.stringify(place)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await Promise.race([
    new Promise<void>((resolve) => child.once('message', () => resolve())),
    exited.then((code) => {
      throw new Error(`member b exited with ${code} before it was ready`);
    }),
  ]);
  return {
    stop: async () => {
      if (child.exitCode === null) child.send('stop');
      const code = await exited;
      if (code !== 0) throw new Error(`member b exited with ${code}`);
    },
  };
}

export async function runAcross(
  amqpUrl: string,
  connectionString: string,
  messages: readonly CommandMessage[],
  expected: ReadonlyMap<string, DesiredState>,
  logger: Logger,
): Promise<AcrossReport> {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const place: AcrossPlace = { amqpUrl, connectionString, schema: `steadfast_example_desired_state_${suffix}`, typeName: `steadfast-example.media-set.${suffix}` };
  let a: Awaited<ReturnType<typeof startMember>> | undefined;
  let b: Awaited<ReturnType<typeof forkMember>> | undefined;
  try {
    a = await startMember(place, 'a', logger);
    b = await forkMember(place);
    const sender = a.region;
    // Both members counted each other: one partition each.
    const deadline = Date.now() + 30_000;
    while (sender.stats.ownership?.partitions.length !== 1) {
      if (Date.now() > deadline) throw new Error('the two members did not share the partitions within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Any member can send; an ask resolves once the command is applied, so the stream keeps its order.
    for (const message of messages) await sender.ask(message.mediaSetId, message as unknown as JsonValue);
    const views = new Map<string, MediaSetView>();
    for (;;) {
      for (const id of expected.keys()) views.set(id, await sender.ask<MediaSetView>(id, { query: true }));
      const converged = [...expected].every(([id, state]) => JSON.stringify(views.get(id)?.downstream) === JSON.stringify(state));
      if (converged && [...views.values()].every((view) => view.unconfirmed === 0)) break;
      if (Date.now() > deadline + 15_000) throw new Error('the distribution did not converge to the desired state');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { views };
  } finally {
    await b?.stop();
    await a?.stop();
    await cleanUp(place);
  }
}

/** An example leaves nothing behind: its schema and queues go. */
async function cleanUp({ amqpUrl, connectionString, schema, typeName }: AcrossPlace): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
  const amqp = await import('amqplib');
  const connection = await amqp.connect(amqpUrl);
  const channel = await connection.createChannel();
  for (const queue of [
    `${typeName}.entities.0`,
    `${typeName}.entities.1`,
    `${typeName}.entities.0.dead-letter`,
    `${typeName}.entities.1.dead-letter`,
    `${typeName}.entities.partitions`,
  ]) {
    await channel.deleteQueue(queue);
  }
  await connection.close();
}
