import Ajv, { type ValidateFunction } from 'ajv';
import assignmentCreate from '../../schemas/assignment-create.json';
import assignmentUpdate from '../../schemas/assignment-update.json';
import contentCreate from '../../schemas/content-create.json';
import creditDistributions from '../../schemas/credit-distributions.json';
import creditSession from '../../schemas/credit-session.json';
import creditTransfer from '../../schemas/credit-transfer.json';
import progress from '../../schemas/progress.json';
import reconcile from '../../schemas/reconcile.json';
import contentUpdate from '../../schemas/content-update.json';
import settingsUpdate from '../../schemas/settings-update.json';
import webhookCreate from '../../schemas/webhook-create.json';
import type { Distribution, SessionInput, TransferInput } from '../credits/store';
import type { AssignmentInput, AssignmentUpdate } from '../enrollment/assignments';
import { AdminErrors } from './errors';

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
  settingsUpdate: ajv.compile<{ coaching: boolean }>(settingsUpdate),
  creditTransfer: ajv.compile<TransferInput>(creditTransfer),
  creditDistributions: ajv.compile<{ distributions: Distribution[]; note?: string }>(creditDistributions),
  creditSession: ajv.compile<SessionInput>(creditSession),
};

/** The body, typed, or a 400 listing every problem with its JSON path. */
export function validBody<T>(validate: ValidateFunction<T>, body: unknown): T {
  if (validate(body)) return body;
  throw AdminErrors.invalidBody(
    (validate.errors ?? []).map((e) => ({
      path: e.instancePath || '/',
      message: e.keyword === 'additionalProperties' ? `unknown property "${String(e.params.additionalProperty)}"` : (e.message ?? 'is invalid'),
    })),
  );
}
