/**
 * After, with the media-set entities spread over two members (`amqpEntities`): two actor systems, each
 * with its own PostgreSQL journal session on one schema — what two worker processes of one service
 * would be — share the entity space. RabbitMQ carries each command to the member that owns its media
 * set (a stable hash over 2 partitions; each member holds one), the shared journal holds the entities'
 * events, and the leases that decide who owns what come through that journal. The distribution is the
 * same flaky one; every push is delivered at-least-once until confirmed, by whichever member owns it.
 */
import type { Logger } from 'pino';
import { ActorSystem, type DeliveryConfirmed, type JsonValue } from 'steadfast';
import { amqpEntities, DeliveryApplied, GetEntityState, InboundDelivery, type AmqpEntities } from 'steadfast/amqp';
import { postgresJournal, postgresSnapshotStore } from 'steadfast/postgres';
import { DistributionGateway, MediaSetEntity, type GetMediaSet, type Ingest } from './after.js';
import type { CommandMessage, DesiredState } from './commands.js';
import type { Distribution } from './distribution.js';

/** What a member answers about its media set (JSON: it travels back over RabbitMQ). */
export interface MediaSetView {
  readonly desired: DesiredState;
  readonly version: number;
  readonly unconfirmed: number;
  readonly member: string;
  readonly duplicates: readonly string[];
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
    mediaSetId: string,
    private readonly member: string,
  ) {
    super(mediaSetId, '/user/distribution');
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
      this.sender.tell({ ...this.view(), member: this.member, duplicates: this.#duplicates } satisfies MediaSetView);
    } else {
      super.onCommand(command);
    }
  }
}

export interface AcrossReport {
  /** Per media set: the member that served it and the duplicates it recognised. */
  readonly views: ReadonlyMap<string, MediaSetView>;
}

export async function runAcross(
  amqpUrl: string,
  connectionString: string,
  messages: readonly CommandMessage[],
  distribution: Distribution,
  expected: ReadonlyMap<string, DesiredState>,
  logger: Logger,
): Promise<AcrossReport> {
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const schema = `steadfast_example_desired_state_${suffix}`;
  const typeName = `steadfast-example.media-set.${suffix}`;
  const members: { system: ActorSystem; region: AmqpEntities }[] = [];
  try {
    for (const member of ['a', 'b']) {
      const journalOptions = { connectionString, schema, applicationName: `desired-state-${member}` };
      const system = ActorSystem.create(`member-${member}`, { journal: postgresJournal(journalOptions), snapshotStore: postgresSnapshotStore(journalOptions), logger });
      system.actorOf(() => new DistributionGateway(distribution), 'distribution');
      const region = amqpEntities({ system, url: amqpUrl, typeName, partitions: 2, rebalanceIntervalMs: 100, logger, entity: (id) => new MediaSetMember(id, member) });
      members.push({ system, region });
      await region.start();
    }
    // Both members counted each other: one partition each.
    const deadline = Date.now() + 15_000;
    while (!members.every(({ region }) => region.stats.ownership?.partitions.length === 1)) {
      if (Date.now() > deadline) throw new Error('the two members did not share the partitions within 15 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Any member can send; an ask resolves once the command is applied, so the stream keeps its order.
    const sender = members[0]!.region;
    for (const message of messages) await sender.ask(message.mediaSetId, message as unknown as JsonValue);
    const views = new Map<string, MediaSetView>();
    for (;;) {
      for (const id of expected.keys()) views.set(id, await sender.ask<MediaSetView>(id, { query: true }));
      const converged = [...expected].every(([id, state]) => JSON.stringify(distribution.view(id)) === JSON.stringify(state));
      if (converged && [...views.values()].every((view) => view.unconfirmed === 0)) break;
      if (Date.now() > deadline + 15_000) throw new Error('the distribution did not converge to the desired state');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { views };
  } finally {
    for (const { system, region } of members) {
      await region.stop();
      await system.terminate();
    }
    await cleanUp(amqpUrl, connectionString, schema, typeName);
  }
}

/** An example leaves nothing behind: its schema and queues go. */
async function cleanUp(amqpUrl: string, connectionString: string, schema: string, typeName: string): Promise<void> {
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
