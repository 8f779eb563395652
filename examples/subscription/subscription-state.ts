/**
 * The subscription's state and events: plain data, so they go through the JSON serializer into the
 * journal and the snapshot store unchanged. `apply` is the only way state changes (live and on replay).
 */
export type Plan = 'free' | 'basic' | 'pro';

export type SubscriptionEvent =
  | { readonly type: 'plan-upgraded'; readonly from: Plan; readonly to: Plan; readonly at: string }
  | { readonly type: 'seats-changed'; readonly seats: number };

export interface SubscriptionState {
  readonly plan: Plan;
  readonly seats: number;
  readonly upgrades: number;
}

export const EMPTY: SubscriptionState = { plan: 'free', seats: 1, upgrades: 0 };

const RANK: Record<Plan, number> = { free: 0, basic: 1, pro: 2 };

/** Decides what an upgrade means; the events are persisted before anything else happens. */
export function processUpgrade(state: SubscriptionState, to: Plan, seats: number): SubscriptionEvent[] | { readonly rejected: string } {
  if (RANK[to] <= RANK[state.plan]) return { rejected: `cannot upgrade from ${state.plan} to ${to}` };
  if (!Number.isInteger(seats) || seats < 1) return { rejected: `seats must be a positive integer, got ${seats}` };
  const events: SubscriptionEvent[] = [{ type: 'plan-upgraded', from: state.plan, to, at: new Date().toISOString() }];
  if (seats !== state.seats) events.push({ type: 'seats-changed', seats });
  return events;
}

export function apply(state: SubscriptionState, event: SubscriptionEvent): SubscriptionState {
  switch (event.type) {
    case 'plan-upgraded':
      return { ...state, plan: event.to, upgrades: state.upgrades + 1 };
    case 'seats-changed':
      return { ...state, seats: event.seats };
  }
}
