/** Why the credits refused a change. The admin API answers each with its own code (see admin/errors.ts). */
export type CreditErrorCode = 'coachingDisabled' | 'insufficientCredits' | 'overSessionLimit' | 'notMembers';

export class CreditError extends Error {
  constructor(
    readonly code: CreditErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CreditError';
  }
}

const credits = (n: number) => `${n} credit${n === 1 ? '' : 's'}`;

export const CreditErrors = {
  coachingDisabled: () => new CreditError('coachingDisabled', 'Coaching is not enabled for this tenant'),
  insufficientCredits: (wallet: string, balance: number, requested: number) =>
    new CreditError('insufficientCredits', `The wallet ${wallet} holds ${credits(balance)}, fewer than the ${requested} asked for`, { wallet, balance, requested }),
  overSessionLimit: (groupId: string, limit: number, requested: number) =>
    new CreditError('overSessionLimit', `Group ${groupId} allows at most ${credits(limit)} per coaching session; the session asked for ${requested}`, { groupId, limit, requested }),
  notMembers: (groupId: string, userIds: string[]) =>
    new CreditError(
      'notMembers',
      `${userIds.length === 1 ? 'user' : 'users'} ${userIds.slice(0, 5).join(', ')}${userIds.length > 5 ? ` and ${userIds.length - 5} more` : ''} ${userIds.length === 1 ? 'is not a member' : 'are not members'} of group ${groupId}`,
      { groupId, userIds: userIds.slice(0, 100) },
    ),
};
