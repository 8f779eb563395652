/** The account the SQL projection tests persist through: every deposit an event tagged `ledger`. */
import { type ActorRef, PersistentActor, type QueryOptions, type ReadJournal, Tagged } from '../../../src/index.js';

export type Deposit = { amount: number };

export class LedgerAccount extends PersistentActor<Deposit, Tagged<{ amount: number }>> {
  constructor(readonly persistenceId: string) {
    super();
  }
  onCommand(command: Deposit): void {
    void this.persist(new Tagged({ amount: command.amount }, ['ledger']), () => this.sender.tell(this.lastSequenceNr));
  }
  onRecover(): void {}
}

export async function deposit(ref: ActorRef<Deposit>, ...amounts: number[]): Promise<void> {
  for (const amount of amounts) await ref.ask({ amount });
}

export const byLedgerTag = (readJournal: ReadJournal, offset: number, options: QueryOptions) => readJournal.eventsByTag('ledger', offset, options);
