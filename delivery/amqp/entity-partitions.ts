/**
 * How `amqpEntities` cuts the entity space: a stable hash of the entity id picks one of P partitions,
 * each one RabbitMQ queue, and P partitions are shared out over the live members within ±1.
 * Every process must compute the same answers from the same inputs, so nothing here may depend on the
 * process (no Math.random, no insertion order).
 */

/** FNV-1a 32 over the UTF-16 code units: stable across processes and versions, and spreads short ids well. */
export function partitionOf(entityId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < entityId.length; i++) {
    hash ^= entityId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

export function partitionQueue(typeName: string, partition: number): string {
  return `${typeName}.entities.${partition}`;
}

/** The queue whose `x-max-length` records the partition count of a type (nothing is ever published to it). */
export function partitionCountQueue(typeName: string): string {
  return `${typeName}.entities.partitions`;
}

export function partitionLeaseName(typeName: string, partition: number): string {
  return `amqp-entities:${typeName}:partition:${partition}`;
}

export function memberLeaseName(typeName: string, slot: number): string {
  return `amqp-entities:${typeName}:member:${slot}`;
}

/**
 * How many partitions the member of `rank` (0-based, among `members` live ones ordered by slot) holds:
 * floor(P / members), one more for the first P mod members ranks. The shares add up to P.
 */
export function shareOf(partitions: number, members: number, rank: number): number {
  const base = Math.floor(partitions / members);
  return base + (rank < partitions % members ? 1 : 0);
}
