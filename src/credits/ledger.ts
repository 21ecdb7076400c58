import type { Db } from '../db/knex';
import { toBool, type CreditTransferRow } from '../db/tables';
import { CreditErrors } from './errors';
import { coachingStatement, groupWallet, RECEIVED, SPENT, transferFromRow, userWallet, type Transfer, type TransferKind } from './wallets';

/** Where the tenant's credits are: every figure a sum over the ledger. */
export interface CreditSummary {
  /** Added from outside, ever. */
  deposited: number;
  workspace: number;
  /** In all groups' wallets together. */
  groups: number;
  /** In all members' balances together. */
  members: number;
  /** Used up by coaching sessions. */
  consumed: number;
}

export interface GroupCredits {
  groupId: string;
  balance: number;
  /** Allocated to the group, ever. */
  received: number;
  /** Given to its members, ever. */
  distributed: number;
  creditLimitPerSession: number | null;
}

/** A page of the ledger, newest first: `next` is the seq the next page starts below. */
export interface LedgerPage {
  items: Transfer[];
  next: number | null;
}

export interface LedgerQuery {
  limit: number;
  before?: number;
}

/**
 * Read model of the credit ledger for the admin API: balances summed from the transfers, and the
 * transfers themselves, newest first, paged by seq. Every read but `coaching` is refused while the
 * tenant has coaching off.
 */
export class CreditLedger {
  constructor(private readonly db: Db) {}

  async coaching(tenantId: string): Promise<boolean> {
    const { sql, bindings } = coachingStatement(tenantId);
    const [row] = await this.db.read<{ coaching_enabled: boolean | number }>(sql, bindings);
    return toBool(row?.coaching_enabled);
  }

  /**
   * Each figure from the totals per kind, which map to wallets one to one: a deposit fills the
   * workspace, an allocation moves from it to a group, a distribution from a group to a member, a
   * session uses a member's up, and a deleted group's go back to the workspace. One scan of the
   * tenant's ledger.
   */
  async summary(tenantId: string): Promise<CreditSummary> {
    await this.requireCoaching(tenantId);
    const rows = await this.db.read<{ kind: TransferKind; total: number | string }>('select kind, sum(amount) as total from credit_transfers where tenant_id = ? group by kind', [tenantId]);
    const totals = new Map(rows.map((r) => [r.kind, Number(r.total)]));
    const of = (kind: TransferKind) => totals.get(kind) ?? 0;
    return {
      deposited: of('deposit'),
      workspace: of('deposit') - of('allocate') + of('groupDeleted'),
      groups: of('allocate') - of('distribute') - of('groupDeleted'),
      members: of('distribute') - of('session'),
      consumed: of('session'),
    };
  }

  /** The tenant's whole ledger, newest first. */
  async transfers(tenantId: string, query: LedgerQuery): Promise<LedgerPage> {
    await this.requireCoaching(tenantId);
    return this.page('tenant_id = ?', [tenantId], query);
  }

  /** A group's wallet and its per-session limit; undefined for no such group of the tenant. */
  async group(tenantId: string, groupId: string): Promise<GroupCredits | undefined> {
    await this.requireCoaching(tenantId);
    const wallet = groupWallet(groupId);
    const [row] = await this.db.read<{ credit_limit_per_session: number | null; received: number | string; spent: number | string }>(
      `select credit_limit_per_session, ${RECEIVED} as received, ${SPENT} as spent from groups where tenant_id = ? and id = ?`,
      [tenantId, wallet, tenantId, wallet, tenantId, groupId],
    );
    if (!row) return undefined;
    // A group that exists has given credits only to its members (the rest go back when it is deleted).
    const received = Number(row.received);
    const distributed = Number(row.spent);
    return { groupId, balance: received - distributed, received, distributed, creditLimitPerSession: row.credit_limit_per_session };
  }

  /** A member's balance and a page of their transfers; undefined for no such user of the tenant. */
  async user(tenantId: string, userId: string, query: LedgerQuery): Promise<({ userId: string; balance: number } & LedgerPage) | undefined> {
    await this.requireCoaching(tenantId);
    const wallet = userWallet(userId);
    const [row] = await this.db.read<{ balance: number | string }>(`select ${RECEIVED} - ${SPENT} as balance from users where tenant_id = ? and id = ?`, [tenantId, wallet, tenantId, wallet, tenantId, userId]);
    if (!row) return undefined;
    const page = await this.page('tenant_id = ? and (to_wallet = ? or from_wallet = ?)', [tenantId, wallet, wallet], query);
    return { userId, balance: Number(row.balance), ...page };
  }

  private async requireCoaching(tenantId: string): Promise<void> {
    if (!(await this.coaching(tenantId))) throw CreditErrors.coachingDisabled();
  }

  /** Transfers matching `where`, newest first, one more read than asked to tell whether a next page exists. */
  private async page(where: string, bindings: readonly unknown[], query: LedgerQuery): Promise<LedgerPage> {
    // written into the SQL, not bound (see MembershipStore.page): it must be one of Roster's own
    if (!Number.isSafeInteger(query.limit) || query.limit < 1) throw new Error(`page limit must be a whole number (got ${query.limit})`);
    const before = query.before === undefined ? '' : ' and seq < ?';
    const rows = await this.db.read<CreditTransferRow & { seq: number | string }>(
      `select * from credit_transfers where ${where}${before} order by seq desc limit ${query.limit + 1}`,
      [...bindings, ...(query.before === undefined ? [] : [query.before])],
    );
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return { items: items.map(transferFromRow), next: rows.length > query.limit && last ? Number(last.seq) : null };
  }
}
