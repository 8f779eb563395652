/**
 * The command stream both workers consume: changes to media sets, as a queue delivers them — at least
 * once, so two messages arrive twice (same messageId), one of them late, after a newer command.
 */
export type Change =
  | { readonly op: 'add-file'; readonly file: string }
  | { readonly op: 'remove-file'; readonly file: string }
  | { readonly op: 'publish' }
  | { readonly op: 'unpublish' };

export interface CommandMessage {
  readonly messageId: string;
  readonly mediaSetId: string;
  readonly change: Change;
}

/** What a media set should look like downstream. */
export interface DesiredState {
  readonly files: readonly string[];
  readonly published: boolean;
}

export const EMPTY_STATE: DesiredState = { files: [], published: false };

const commands: CommandMessage[] = [
  { messageId: 'm1', mediaSetId: 'ms-1', change: { op: 'add-file', file: 'a.mp4' } },
  { messageId: 'm2', mediaSetId: 'ms-1', change: { op: 'add-file', file: 'b.mp4' } },
  { messageId: 'm3', mediaSetId: 'ms-2', change: { op: 'add-file', file: 'x.mp4' } },
  { messageId: 'm4', mediaSetId: 'ms-1', change: { op: 'publish' } },
  { messageId: 'm5', mediaSetId: 'ms-2', change: { op: 'publish' } },
  { messageId: 'm6', mediaSetId: 'ms-1', change: { op: 'remove-file', file: 'a.mp4' } },
  { messageId: 'm7', mediaSetId: 'ms-2', change: { op: 'unpublish' } },
  { messageId: 'm8', mediaSetId: 'ms-1', change: { op: 'add-file', file: 'c.mp4' } },
  { messageId: 'm9', mediaSetId: 'ms-2', change: { op: 'add-file', file: 'y.mp4' } },
];

/** The stream as delivered: m2 redelivered, and m5 (publish) redelivered after m7 (unpublish). */
export const DELIVERED: readonly CommandMessage[] = [...commands.slice(0, 5), commands[1]!, ...commands.slice(5, 7), commands[4]!, ...commands.slice(7)];

export function applyChange(state: DesiredState, change: Change): DesiredState {
  switch (change.op) {
    case 'add-file':
      return state.files.includes(change.file) ? state : { ...state, files: [...state.files, change.file] };
    case 'remove-file':
      return { ...state, files: state.files.filter((file) => file !== change.file) };
    case 'publish':
      return { ...state, published: true };
    case 'unpublish':
      return { ...state, published: false };
  }
}

/** The truth: every command applied once, in order. */
export function expectedStates(): Map<string, DesiredState> {
  const states = new Map<string, DesiredState>();
  for (const command of commands) states.set(command.mediaSetId, applyChange(states.get(command.mediaSetId) ?? EMPTY_STATE, command.change));
  return states;
}
