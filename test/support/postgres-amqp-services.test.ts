import { afterAll, describe, expect, it } from 'vitest';
import { amqpResource, postgresResource } from './services.js';

const pg = await postgresResource('helper');
const amqp = await amqpResource('helper');

afterAll(async () => {
  await pg?.cleanup();
  await amqp?.cleanup();
});

describe.runIf(pg)('test helper: PostgreSQL', () => {
  it('gives the suite a schema of its own that it can write to', async () => {
    const resource = pg!;
    await resource.admin.query(`create table "${resource.schema}".probe (id int primary key)`);
    await resource.admin.query(`insert into "${resource.schema}".probe values (1), (2)`);
    const { rows } = await resource.admin.query(`select count(*)::int as n from "${resource.schema}".probe`);
    expect(rows[0].n).toBe(2);
    const other = await resource.newSchema('other');
    expect(other).not.toBe(resource.schema);
  });
});

describe.runIf(amqp)('test helper: RabbitMQ', () => {
  it('round-trips a message through a queue of its own', async () => {
    const resource = amqp!;
    const queue = resource.name('probe');
    expect(queue.startsWith(resource.prefix)).toBe(true);
    const connection = await resource.connection();
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: false });
    channel.sendToQueue(queue, Buffer.from('hello'));
    const received = await new Promise<string>((resolve) => {
      void channel.consume(queue, (message) => {
        if (message) {
          channel.ack(message);
          resolve(message.content.toString());
        }
      });
    });
    expect(received).toBe('hello');
  });
});
