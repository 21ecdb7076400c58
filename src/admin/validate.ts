import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import assignmentCreate from '../../schemas/assignment-create.json';
import assignmentUpdate from '../../schemas/assignment-update.json';
import contentCreate from '../../schemas/content-create.json';
import groupMessage from '../../schemas/group-message.json';
import creditDistributions from '../../schemas/credit-distributions.json';
import creditSession from '../../schemas/credit-session.json';
import creditTransfer from '../../schemas/credit-transfer.json';
import progress from '../../schemas/progress.json';
import reconcile from '../../schemas/reconcile.json';
import contentUpdate from '../../schemas/content-update.json';
import settingsUpdate from '../../schemas/settings-update.json';
import webhookCreate from '../../schemas/webhook-create.json';
import groupCreate from '../../schemas/group-create.json';
import groupUpdate from '../../schemas/group-update.json';
import groupMembersAdd from '../../schemas/group-members-add.json';
import userGroupsSet from '../../schemas/user-groups-set.json';
import usersGroupsSet from '../../schemas/users-groups-set.json';
import memberTokenCreate from '../../schemas/member-token-create.json';
import type { Distribution, SessionInput, TransferInput } from '../credits/store';
import type { AssignmentInput, AssignmentUpdate } from '../enrollment/assignments';
import type { PersonRef } from '../membership/people';
import { AdminErrors } from './errors';

/** A group's name and settings as the admin API takes them. */
export interface GroupInput {
  displayName: string;
  externalId?: string | null;
  description?: string | null;
  color?: string | null;
  maxMembers?: number | null;
  visibility?: 'private' | 'public';
  rule?: string | null;
  creditLimitPerSession?: number | null;
}

const ajv = new Ajv({ allErrors: true, strict: true });

/** The admin API's request bodies, as described by the JSON schemas in schemas/ (compiled once, at start). */
export const Bodies = {
  contentCreate: ajv.compile<{ kind: 'course' | 'program' | 'scenario' | 'bot' | 'persona'; title: string; externalId?: string | null }>(contentCreate),
  contentUpdate: ajv.compile<{ title?: string; externalId?: string | null }>(contentUpdate),
  assignmentCreate: ajv.compile<AssignmentInput & { dryRun?: boolean }>(assignmentCreate),
  assignmentUpdate: ajv.compile<AssignmentUpdate>(assignmentUpdate),
  reconcile: ajv.compile<{ dryRun?: boolean }>(reconcile),
  progress: ajv.compile<{ progress?: number; completed?: true }>(progress),
  webhookCreate: ajv.compile<{ url: string; events: string[]; secret?: string }>(webhookCreate),
  groupCreate: ajv.compile<GroupInput>(groupCreate),
  groupUpdate: ajv.compile<Partial<GroupInput> & { archived?: boolean; dryRun?: boolean }>(groupUpdate),
  groupMembersAdd: ajv.compile<{ users?: PersonRef[]; department?: string; copyFrom?: string }>(groupMembersAdd),
  userGroupsSet: ajv.compile<{ groupIds: string[] }>(userGroupsSet),
  usersGroupsSet: ajv.compile<{ userIds: string[]; groupIds: string[] }>(usersGroupsSet),
  memberTokenCreate: ajv.compile<{ name?: string; expiresInDays?: number }>(memberTokenCreate),
  groupMessage: ajv.compile<{ text: string }>(groupMessage),
  settingsUpdate: ajv.compile<{ coaching: boolean }>(settingsUpdate),
  creditTransfer: ajv.compile<TransferInput>(creditTransfer),
  creditDistributions: ajv.compile<{ distributions: Distribution[]; note?: string }>(creditDistributions),
  creditSession: ajv.compile<SessionInput>(creditSession),
};

/** What the schemas' patterns mean, said to a client in words rather than as the regular expression. */
const PATTERN_MEANING: Record<string, string> = { '\\S': 'must not be empty or only whitespace' };

const messageOf = (e: ErrorObject): string =>
  e.keyword === 'additionalProperties'
    ? `unknown property "${String(e.params.additionalProperty)}"`
    : ((e.keyword === 'pattern' ? PATTERN_MEANING[String(e.params.pattern)] : undefined) ?? e.message ?? 'is invalid');

/** The body, typed, or a 400 listing every problem with its JSON path. */
export function validBody<T>(validate: ValidateFunction<T>, body: unknown): T {
  if (validate(body)) return body;
  throw AdminErrors.invalidBody((validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: messageOf(e) })));
}
