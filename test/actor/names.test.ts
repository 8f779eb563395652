import { describe, expect, it } from 'vitest';
import { Actor, ActorNameTakenError, InvalidActorNameError } from '../../src/actor/index.js';
import { generatedName, validateActorName } from '../../src/actor/names.js';
import { failOnProcessErrors, testSystem } from './support.js';

failOnProcessErrors();

class Idle extends Actor {
  receive(): void {}
}

describe('actor names', () => {
  it('refuses a second sibling with the same name, with ActorNameTakenError naming the path', () => {
    const system = testSystem();
    system.actorOf(() => new Idle(), 'orders');
    let caught: unknown;
    try {
      system.actorOf(() => new Idle(), 'orders');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ActorNameTakenError);
    expect((caught as ActorNameTakenError).code).toBe('ERR_ACTOR_NAME_TAKEN');
    expect((caught as ActorNameTakenError).path).toBe('/user/orders');
  });

  it('allows the same name under different parents', () => {
    const system = testSystem();
    const a = system.actorOf(() => new Idle(), 'a');
    const b = system.actorOf(() => new Idle(), 'b');
    const lookupA = system.lookup('/user/a');
    expect(lookupA).toBe(a);
    expect(b.path).toBe('/user/b');
  });

  it('frees a name once its actor stopped', async () => {
    const system = testSystem();
    const first = system.actorOf(() => new Idle(), 'worker');
    await system.stop(first);
    const second = system.actorOf(() => new Idle(), 'worker');
    expect(second).not.toBe(first);
    expect(second.path).toBe('/user/worker');
  });

  it.each([
    ['empty', ''],
    ['$-prefixed', '$a'],
    ['containing /', 'a/b'],
    ['containing a space', 'a b'],
    ['longer than 255 characters', 'x'.repeat(256)],
  ])('rejects a name that is %s with InvalidActorNameError', (_label, name) => {
    const system = testSystem();
    expect(() => system.actorOf(() => new Idle(), name)).toThrow(InvalidActorNameError);
    // Nothing was created under the bad name (the empty one would look up /user itself).
    if (name.length > 0 && !name.includes('/')) expect(system.lookup(`/user/${name}`)).toBeUndefined();
  });

  it('accepts a name of exactly 255 characters and URL-safe punctuation', () => {
    const system = testSystem();
    expect(system.actorOf(() => new Idle(), 'x'.repeat(255)).name).toHaveLength(255);
    expect(system.actorOf(() => new Idle(), "a_b-c.d~e:f@g+h=i,j!k'l*m").path).toBe("/user/a_b-c.d~e:f@g+h=i,j!k'l*m");
  });

  it('gives unnamed actors distinct generated $-names that never clash with user names', () => {
    const system = testSystem();
    const refs = Array.from({ length: 30 }, () => system.actorOf(() => new Idle()));
    const names = new Set(refs.map((ref) => ref.name));
    expect(names.size).toBe(30);
    for (const name of names) expect(name.startsWith('$')).toBe(true);
    expect(generatedName(0)).toBe('$a');
    expect(generatedName(25)).toBe('$z');
    expect(generatedName(26)).toBe('$aa');
    expect(() => validateActorName(generatedName(3))).toThrow(InvalidActorNameError);
  });
});
