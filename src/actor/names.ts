import { InvalidActorNameError } from './errors.js';

// Letters, digits and URL-safe punctuation: a name must survive being written into a path, a log line
// and a persisted delivery destination without escaping. `$` is reserved for generated names.
const VALID_NAME = /^[A-Za-z0-9_\-.~:@+=,!'*]+$/;
const MAX_NAME_LENGTH = 255;

export function validateActorName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidActorNameError('an actor name must be a non-empty string');
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidActorNameError(`actor name is ${name.length} characters long; at most ${MAX_NAME_LENGTH} are allowed`);
  }
  if (name.startsWith('$')) {
    throw new InvalidActorNameError(`actor name "${name}" starts with "$", which is reserved for generated names`);
  }
  if (!VALID_NAME.test(name)) {
    throw new InvalidActorNameError(`actor name "${name}" has characters that are not allowed (use letters, digits and _ - . ~ : @ + = , ! ' *)`);
  }
}

/** `$a`, `$b`, ... `$ba`: short, unique among siblings, and never clashing with user names. */
export function generatedName(counter: number): string {
  let name = '';
  let n = counter;
  do {
    name = String.fromCharCode(97 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `$${name}`;
}
