import type { Db, Dialect } from '../db/knex';
import { placeholders } from '../db/sql';
import { now, toBool, type CreditTransferRow, type GroupRow } from '../db/tables';
import type { Statement, Tx } from '../db/tx';
import { newId } from '../ids';
import { StoreErrors } from '../membership/errors';
import type { Hooks } from '../membership/hooks';
import { lockGroupStatement } from '../membership/store';
import type { Cause } from '../membership/types';
import { CreditErrors } from './errors';
import { balanceStatement, coachingStatement, groupWallet, transferFromRow, userWallet, WORKSPACE, type Transfer, type TransferKind, type Wallet } from './wallets';

export interface TransferInput {
  amount: number;
  note?: string;
}

export interface Distribution {
  userId: string;
  amount: number;
}

export interface SessionInput {
  groupId: string;
  credits: number;
  note?: string;
}

/** A transfer made, and what the wallet it was made under (the one it took from; a deposit's workspace) holds after it. */
export type Moved = Transfer & { balance: number };

/** A transfer to write: who asks for it and when come from the cause. */
interface Move {
  kind: TransferKind;
  from: Wallet | null;
  to: Wallet | null;
  amount: number;
  groupId: string | null;
  note: string | null;
}

type Row = Record<string, unknown>;

/**
 * Coaching credits: every change is one transaction that appends transfers to the ledger and never
 * updates a balance in place. A transfer that takes credits out of a wallet holds that wallet's lock
 * (lockWallet), sums its balance from the ledger, refuses to take it below zero, and writes, so
 * concurrent debits of one wallet queue and each sees the ones before it. Crediting a wallet needs
 * no lock: it can only raise a balance another transfer checked. Where a group is involved, its row
 * is held first (FOR KEY SHARE, as a member change does), so a group being deleted, which holds it
 * FOR UPDATE, is never credited or debited after its credits went back to the workspace.
 * Nothing here assumes who asks: the actor is the cause's.
 */
export class CreditStore {
  constructor(private readonly db: Db) {}

  /** On PostgreSQL the tenants' trigger (migration 007) then drops every instance's token cache: a rare change, and harmless. */
  async setCoaching(tenantId: string, enabled: boolean, cause: Cause): Promise<boolean> {
    await this.write(cause, (tx) => tx.execute('update tenants set coaching_enabled = ? where id = ?', [enabled, tenantId]));
    return enabled;
  }

  /** Credits bought or added from outside, into the workspace's wallet (locked too, so the balance answered is exact). */
  deposit(tenantId: string, input: TransferInput, cause: Cause): Promise<Moved> {
    return this.write(cause, async (tx) => {
      const { balance } = await this.open(tx, tenantId, WORKSPACE);
      const [transfer] = record(tx, tenantId, cause, [{ kind: 'deposit', from: null, to: WORKSPACE, amount: input.amount, groupId: null, note: input.note ?? null }]);
      return { ...transfer!, balance: balance + input.amount };
    });
  }

  /** The workspace's credits into a group's wallet. */
  allocate(tenantId: string, groupId: string, input: TransferInput, cause: Cause): Promise<Moved> {
    return this.write(cause, async (tx) => {
      const { balance, rows } = await this.open(tx, tenantId, WORKSPACE, [holdGroup(tx.dialect, tenantId, groupId)]);
      if (!rows[0]?.length) throw StoreErrors.groupNotFound(groupId);
      debit(WORKSPACE, balance, input.amount);
      const [transfer] = record(tx, tenantId, cause, [{ kind: 'allocate', from: WORKSPACE, to: groupWallet(groupId), amount: input.amount, groupId, note: input.note ?? null }]);
      return { ...transfer!, balance: balance - input.amount };
    });
  }

  /** A group's credits to its current members, all or none. */
  distribute(tenantId: string, groupId: string, items: readonly Distribution[], note: string | undefined, cause: Cause): Promise<{ items: Transfer[]; balance: number }> {
    const userIds = [...new Set(items.map((i) => i.userId))];
    const wallet = groupWallet(groupId);
    return this.write(cause, async (tx) => {
      const { balance, rows } = await this.open(tx, tenantId, wallet, [holdGroup(tx.dialect, tenantId, groupId), holdMembers(tx.dialect, tenantId, groupId, userIds)]);
      if (!rows[0]?.length) throw StoreErrors.groupNotFound(groupId);
      const members = new Set((rows[1] ?? []).map((r) => r.user_id as string));
      const outsiders = userIds.filter((u) => !members.has(u));
      if (outsiders.length) throw CreditErrors.notMembers(groupId, outsiders);
      const total = items.reduce((n, i) => n + i.amount, 0);
      debit(wallet, balance, total);
      const moves = items.map((i): Move => ({ kind: 'distribute', from: wallet, to: userWallet(i.userId), amount: i.amount, groupId, note: note ?? null }));
      return { items: record(tx, tenantId, cause, moves), balance: balance - total };
    });
  }

  /** A coaching session uses up a member's credits, within the per-session limit of the group it is held through. */
  consume(tenantId: string, userId: string, input: SessionInput, cause: Cause): Promise<Moved> {
    const wallet = userWallet(userId);
    return this.write(cause, async (tx) => {
      const { balance, rows } = await this.open(tx, tenantId, wallet, [
        { sql: 'select id from users where tenant_id = ? and id = ?', bindings: [tenantId, userId] },
        holdGroup(tx.dialect, tenantId, input.groupId),
        holdMembers(tx.dialect, tenantId, input.groupId, [userId]),
      ]);
      if (!rows[0]?.length) throw StoreErrors.userNotFound(userId);
      const group = rows[1]?.[0] as GroupRow | undefined;
      if (!group) throw StoreErrors.groupNotFound(input.groupId);
      if (!rows[2]?.length) throw CreditErrors.notMembers(input.groupId, [userId]);
      const limit = group.credit_limit_per_session;
      if (limit !== null && input.credits > limit) throw CreditErrors.overSessionLimit(input.groupId, limit, input.credits);
      debit(wallet, balance, input.credits);
      const [transfer] = record(tx, tenantId, cause, [{ kind: 'session', from: wallet, to: null, amount: input.credits, groupId: input.groupId, note: input.note ?? null }]);
      return { ...transfer!, balance: balance - input.credits };
    });
  }

  /**
   * Coaching on, the rows of `reads`, and the wallet's balance under its lock, in one round trip.
   * The reads come first: a group's row is held before the wallet, in every transfer and in a
   * group's deletion, so none of them waits for another in a circle.
   */
  private async open(tx: Tx, tenantId: string, wallet: Wallet, reads: readonly Statement[] = []): Promise<{ balance: number; rows: Row[][] }> {
    const { balance, rows } = await underLock(tx, tenantId, wallet, [coachingStatement(tenantId), ...reads]);
    if (!toBool(rows[0]?.[0]?.coaching_enabled as boolean | number | undefined)) throw CreditErrors.coachingDisabled();
    return { balance, rows: rows.slice(1) };
  }

  private write<T>(cause: Cause, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction(work, { deadline: cause.deadline });
  }
}

/**
 * Deleting a group returns its undistributed credits to the workspace, in the deletion's transaction
 * (SCIM DELETE or any other); its members keep what was distributed to them.
 */
export function registerCreditReturns(hooks: Hooks): void {
  hooks.register(async (tx, event) => {
    if (event.type === 'group.deleted') await returnToWorkspace(tx, event.tenantId, event.groupId, event.cause);
  });
}

async function returnToWorkspace(tx: Tx, tenantId: string, groupId: string, cause: Cause): Promise<void> {
  const wallet = groupWallet(groupId);
  // Most groups never held credits, and one index read says so. None can arrive meanwhile: an
  // allocation holds the group's row FOR KEY SHARE, and the deletion's FOR UPDATE waited for it.
  const ever = await tx.query('select 1 as found from credit_transfers where tenant_id = ? and to_wallet = ? limit 1', [tenantId, wallet]);
  if (!ever.length) return;
  const { balance } = await underLock(tx, tenantId, wallet, []);
  if (balance > 0) record(tx, tenantId, cause, [{ kind: 'groupDeleted', from: wallet, to: WORKSPACE, amount: balance, groupId, note: null }]);
}

/** The longest wallet key: `group:` or `user:` and an id of 36 characters, with room to spare (the columns hold 50). */
const MAX_WALLET = 50;

/**
 * The rows of `reads`, then the wallet's balance read once its lock is held (lockWallet). A key
 * longer than any wallet's (an id from a path that names nothing) is not locked, so it is never
 * written: the reads find no such group or user, and the caller refuses.
 */
async function underLock(tx: Tx, tenantId: string, wallet: Wallet, reads: readonly Statement[]): Promise<{ balance: number; rows: Row[][] }> {
  const lock = wallet.length <= MAX_WALLET ? lockWallet(tx.dialect, tenantId, wallet) : [];
  const results = await tx.pipeline<Row>([...reads, ...lock, balanceStatement(tenantId, wallet)]);
  return { balance: Number(results[results.length - 1]?.[0]?.balance ?? 0), rows: results.slice(0, reads.length) };
}

/**
 * The wallet's lock: its row, created at its first debit, held FOR UPDATE on PostgreSQL until the
 * transaction ends. A debit of the same wallet waits here, and the balance statement after it runs
 * once the one before has committed; in READ COMMITTED each statement sees what committed before it
 * began, so it sees that debit's transfers. SQLite has one writer: the row is written (both engines
 * hold the same rows), and there is nothing to wait for.
 */
function lockWallet(dialect: Dialect, tenantId: string, wallet: Wallet): Statement[] {
  const create = { sql: 'insert into credit_wallets (tenant_id, wallet, created_at) values (?, ?, ?) on conflict (tenant_id, wallet) do nothing', bindings: [tenantId, wallet, now()] };
  if (dialect !== 'postgres') return [create];
  return [create, { sql: 'select wallet from credit_wallets where tenant_id = ? and wallet = ? for update', bindings: [tenantId, wallet] }];
}

/** The group's row, held FOR KEY SHARE on PostgreSQL: it cannot be deleted until the transfer commits. */
const holdGroup = (dialect: Dialect, tenantId: string, groupId: string): Statement => lockGroupStatement(dialect, tenantId, groupId, 'for key share');

/** Which of the users are members of the group, their memberships held on PostgreSQL: no one leaves until the transfer commits. */
function holdMembers(dialect: Dialect, tenantId: string, groupId: string, userIds: readonly string[]): Statement {
  return {
    sql: `select user_id from memberships where tenant_id = ? and group_id = ? and user_id in (${placeholders(userIds)})${dialect === 'postgres' ? ' for key share' : ''}`,
    bindings: [tenantId, groupId, ...userIds],
  };
}

function debit(wallet: Wallet, balance: number, amount: number): void {
  if (amount > balance) throw CreditErrors.insufficientCredits(wallet, balance, amount);
}

/**
 * Appends the transfers to the ledger with the COMMIT (on PostgreSQL in its round trip), while the
 * debited wallet is still locked: the next debit's sum sees them, and their seq follows the order
 * of the debits.
 */
function record(tx: Tx, tenantId: string, cause: Cause, moves: readonly Move[]): Transfer[] {
  const at = now();
  const rows = moves.map(
    (m): CreditTransferRow => ({
      id: newId(),
      tenant_id: tenantId,
      from_wallet: m.from,
      to_wallet: m.to,
      amount: m.amount,
      kind: m.kind,
      group_id: m.groupId,
      actor: cause.actor ?? cause.source,
      request_id: cause.requestId,
      note: m.note,
      created_at: at,
    }),
  );
  tx.insertLater('credit_transfers', rows);
  return rows.map(transferFromRow);
}
