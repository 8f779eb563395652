import { describe, expect, it } from 'vitest';
import { RecencyList, type RecencyNode } from '../../src/entities/recency-list.js';

interface Node extends RecencyNode {
  readonly id: string;
}

const node = (id: string): Node => ({ id, older: undefined, newer: undefined });
const ids = (list: RecencyList<Node>): string[] => [...list.fromOldest()].map((n) => n.id);

describe('RecencyList (the region’s least-recently-used order)', () => {
  it('keeps nodes in order of last use: a touch moves one to the newest end, removal unlinks it', () => {
    const list = new RecencyList<Node>();
    const [a, b, c] = [node('a'), node('b'), node('c')];
    for (const n of [a, b, c]) list.push(n);
    expect(ids(list)).toEqual(['a', 'b', 'c']);
    list.touch(a);
    expect(ids(list)).toEqual(['b', 'c', 'a']);
    list.touch(a);
    expect(ids(list)).toEqual(['b', 'c', 'a']);
    list.remove(c);
    expect(ids(list)).toEqual(['b', 'a']);
    list.remove(b);
    list.remove(a);
    expect(ids(list)).toEqual([]);
    list.push(c);
    expect(ids(list)).toEqual(['c']);
  });

  it('a walk from the oldest goes on when the node it stands on is removed (a stop during eviction)', () => {
    const list = new RecencyList<Node>();
    const nodes = ['a', 'b', 'c', 'd'].map(node);
    for (const n of nodes) list.push(n);
    const seen: string[] = [];
    for (const n of list.fromOldest()) {
      seen.push(n.id);
      if (n.id === 'b') list.remove(n);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(list)).toEqual(['a', 'c', 'd']);
  });
});
