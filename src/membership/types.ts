/** What caused a change: the request id the sync log shows, and who asked. */
export interface Cause {
  requestId: string;
  source: 'scim' | 'admin' | 'cli' | 'rule' | 'test';
  actor?: string; // the token's label, never the token
  /** When the request must be answered by (epoch ms): its transactions stop there (TransactionOptions.deadline). */
  deadline?: number;
}

export interface Email {
  value: string;
  type?: string | null;
  primary?: boolean;
}

/** A user as the store sees it: the indexed facts plus an opaque profile (the resource as pushed). */
export interface UserProfile {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  emails: Email[];
  department: string | null;
  employeeNumber: string | null;
  managerId: string | null;
  attributes: Record<string, unknown>;
}

/** A group a user belongs to, as SCIM's User.groups names it. */
export interface GroupRef {
  id: string;
  displayName: string;
}

export interface UserRecord extends UserProfile {
  id: string;
  tenantId: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** A learning group's settings (columns of groups; on SCIM, the Roster group extension). */
export interface GroupSettings {
  description: string | null;
  color: string | null;
  /** A change that would leave more members than this is refused. */
  maxMembers: number | null;
  /** `private`: only admins add members; `public`: a member may join and leave by themselves. */
  visibility: 'private' | 'public';
  /** Read-only and hidden from active lists; unarchiving restores it. */
  archived: boolean;
  /** A SCIM filter on users: the members are exactly the users it matches, kept current. */
  rule: string | null;
  /** The most credits one coaching session may use through this group. */
  creditLimitPerSession: number | null;
}

export const DEFAULT_GROUP_SETTINGS: Readonly<GroupSettings> = Object.freeze({
  description: null,
  color: null,
  maxMembers: null,
  visibility: 'private',
  archived: false,
  rule: null,
  creditLimitPerSession: null,
});

export interface GroupProfile {
  displayName: string;
  externalId: string | null;
  attributes: Record<string, unknown>;
  settings: GroupSettings;
}

/** Who owns a group's membership: the identity provider that pushed it over SCIM, or Roster's admins. */
export type GroupOwner = 'identityProvider' | 'roster';

export interface GroupRecord extends GroupProfile {
  id: string;
  tenantId: string;
  managedBy: GroupOwner;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Member {
  userId: string;
  userName: string;
  displayName: string | null;
}

/** One step of a group change, applied in order inside one transaction. */
export type GroupStep =
  | { kind: 'update'; apply: (current: GroupProfile) => GroupProfile }
  | { kind: 'addMembers'; userIds: string[] }
  | { kind: 'removeMembers'; userIds: string[] }
  | { kind: 'removeAllMembers' }
  | { kind: 'replaceMembers'; userIds: string[] };

/** A change the store made, emitted to hooks inside the transaction that made it. */
export type MembershipEvent =
  | { type: 'user.created'; tenantId: string; user: UserRecord; cause: Cause }
  | { type: 'user.updated'; tenantId: string; user: UserRecord; previous: UserRecord; cause: Cause }
  | { type: 'user.deactivated' | 'user.reactivated'; tenantId: string; userId: string; cause: Cause }
  | { type: 'user.deleted'; tenantId: string; userId: string; cause: Cause }
  | { type: 'group.created' | 'group.updated'; tenantId: string; group: GroupRecord; cause: Cause }
  | { type: 'group.deleted'; tenantId: string; groupId: string; cause: Cause }
  | {
      type: 'membership.added' | 'membership.removed';
      tenantId: string;
      groupId: string;
      userIds: string[];
      cause: Cause;
      /** What the hooks' group probes (Hooks.probe) read with the group's lock, by name, when the change ran them. */
      probed?: Readonly<Record<string, readonly unknown[]>>;
    };

export type MembershipEventType = MembershipEvent['type'];

/** A rule group's rule, compiled: the same answer in SQL (set-based) and in memory (one user's change). */
export interface CompiledRule {
  /** A predicate on the `users` table. */
  where: { sql: string; bindings: readonly unknown[] };
  matches(user: UserRecord): boolean;
}

/** Compiles a rule; throws a StoreError ('invalid') that says what is wrong with it. */
export type RuleCompiler = (rule: string) => CompiledRule;
