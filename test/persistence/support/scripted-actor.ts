import { PersistentActor, Recovery, type PersistentActorSettings, type PersistenceReply } from '../../../src/index.js';

/**
 * A persistent actor whose behaviour each test writes inline. Hooks that the script leaves out keep
 * the base class's behaviour (logging), so tests also exercise the defaults.
 */
export interface Script {
  command?(actor: ScriptedActor, command: unknown): void | Promise<void>;
  recover?(actor: ScriptedActor, message: unknown): void;
  replaySuccess?(actor: ScriptedActor): void;
  persistFailure?(actor: ScriptedActor, cause: Error, event: unknown, sequenceNr: number): void;
  persistRejected?(actor: ScriptedActor, cause: Error, event: unknown, sequenceNr: number): void;
  recoveryFailure?(actor: ScriptedActor, cause: Error, event?: unknown): void;
  recovery?: Recovery;
  postStop?(actor: ScriptedActor): void;
}

export class ScriptedActor extends PersistentActor<unknown, unknown> {
  constructor(
    readonly persistenceId: string,
    private readonly script: Script,
    options?: PersistentActorSettings,
  ) {
    super(options);
  }

  override get recovery(): Recovery {
    return this.script.recovery ?? Recovery.default;
  }

  onCommand(command: unknown | PersistenceReply): void | Promise<void> {
    return this.script.command?.(this, command);
  }

  onRecover(message: unknown): void {
    this.script.recover?.(this, message);
  }

  override onReplaySuccess(): void {
    this.script.replaySuccess?.(this);
  }

  override onPersistFailure(cause: Error, event: unknown, sequenceNr: number): void {
    if (this.script.persistFailure) this.script.persistFailure(this, cause, event, sequenceNr);
    else super.onPersistFailure(cause, event, sequenceNr);
  }

  override onPersistRejected(cause: Error, event: unknown, sequenceNr: number): void {
    if (this.script.persistRejected) this.script.persistRejected(this, cause, event, sequenceNr);
    else super.onPersistRejected(cause, event, sequenceNr);
  }

  override onRecoveryFailure(cause: Error, event?: unknown): void {
    if (this.script.recoveryFailure) this.script.recoveryFailure(this, cause, event);
    else super.onRecoveryFailure(cause, event);
  }

  override postStop(): void {
    this.script.postStop?.(this);
  }
}
