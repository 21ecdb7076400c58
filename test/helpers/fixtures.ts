import type { Cause, UserProfile } from '../../src/membership/types';

export const testCause: Cause = { requestId: 'test-request', source: 'test' };

export function profile(userName: string, extra: Partial<UserProfile> = {}): UserProfile {
  return {
    userName,
    externalId: null,
    displayName: null,
    active: true,
    emails: [],
    department: null,
    employeeNumber: null,
    managerId: null,
    attributes: { userName },
    ...extra,
  };
}
