/** Domain errors of the store. The transports (SCIM, admin API) translate them into their own words. */
export type StoreErrorCode =
  | 'userNotFound'
  | 'groupNotFound'
  | 'groupArchived'
  | 'contentNotFound'
  | 'userNameTaken'
  | 'versionMismatch'
  | 'unknownMembers'
  | 'conflict'
  | 'invalid';

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
  groupArchived: (id: string) => new StoreError('groupArchived', `Group ${id} is archived, and an archived group is read-only; unarchive it first`, { id }),
  contentNotFound: (id: string) => new StoreError('contentNotFound', `Content ${id} not found`, { id }),
  userNameTaken: (userName: string) => new StoreError('userNameTaken', `userName "${userName}" is already taken`, { userName }),
  versionMismatch: (kind: 'User' | 'Group', id: string) =>
    new StoreError('versionMismatch', `${kind} ${id} has changed since the version given in If-Match`, { id }),
  unknownMembers: (ids: string[]) =>
    new StoreError(
      'unknownMembers',
      `member${ids.length === 1 ? '' : 's'} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''} ${ids.length === 1 ? 'is not a user' : 'are not users'} of this tenant`,
      { ids: ids.slice(0, 100) },
    ),
};
