/** Domain errors of the store. The transports (SCIM, admin API) translate them into their own words. */
export type StoreErrorCode =
  | 'userNotFound'
  | 'groupNotFound'
  | 'contentNotFound'
  | 'userNameTaken'
  | 'versionMismatch'
  | 'unknownMembers'
  | 'conflict'
  | 'invalid'
  /** The change would leave the group more members than its maxMembers. */
  | 'groupFull'
  /** The group is archived: read-only until unarchived. */
  | 'groupArchived'
  /** The group's membership is its identity provider's (not the admin API's). */
  | 'managedByIdentityProvider'
  /** The group's membership is its rule's. */
  | 'managedByRule'
  /** Only a public group lets members join and leave by themselves. */
  | 'privateGroup'
  /** Admins add active users only. */
  | 'inactiveMembers';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export const StoreErrors = {
  userNotFound: (id: string) => new StoreError('userNotFound', `User ${id} not found`, { id }),
  groupNotFound: (id: string) => new StoreError('groupNotFound', `Group ${id} not found`, { id }),
  contentNotFound: (id: string) => new StoreError('contentNotFound', `Content ${id} not found`, { id }),
  userNameTaken: (userName: string) => new StoreError('userNameTaken', `userName "${userName}" is already taken`, { userName }),
  versionMismatch: (kind: 'User' | 'Group', id: string) =>
    new StoreError('versionMismatch', `${kind} ${id} has changed since the version given in If-Match`, { id }),
  groupFull: (id: string, name: string, max: number, count: number) =>
    new StoreError('groupFull', `Group "${name}" allows at most ${max} member${max === 1 ? '' : 's'}; this change would leave ${count}`, { id, maxMembers: max, members: count }),
  groupArchived: (id: string) => new StoreError('groupArchived', `Group ${id} is archived and read-only; unarchive it first (archived: false)`, { id }),
  managedByIdentityProvider: (id: string, name: string, what = 'its members') =>
    new StoreError('managedByIdentityProvider', `Group "${name}" is pushed by an identity provider, which owns ${what}; change it there`, { id }),
  managedByRule: (id: string, name: string) =>
    new StoreError('managedByRule', `Group "${name}" has a membership rule: its members are exactly the users the rule matches; change the rule instead`, { id }),
  privateGroup: (id: string, name: string) => new StoreError('privateGroup', `Group "${name}" is private: only admins add and remove its members`, { id }),
  inactiveMembers: (ids: string[]) =>
    new StoreError('inactiveMembers', `only active users can be added; ${list(ids)} ${ids.length === 1 ? 'is' : 'are'} deactivated`, { ids: ids.slice(0, 100) }),
  unknownMembers: (ids: string[]) =>
    new StoreError(
      'unknownMembers',
      `member${ids.length === 1 ? '' : 's'} ${list(ids)} ${ids.length === 1 ? 'is not a user' : 'are not users'} of this tenant`,
      { ids: ids.slice(0, 100) },
    ),
};

/** The first ids of a list, for a message. */
function list(ids: string[]): string {
  return `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;
}
