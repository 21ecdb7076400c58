import type { Knex } from 'knex';
import * as foundation from './20261123_001_foundation';
import * as content from './20261123_002_content';
import * as enrollments from './20261123_003_enrollments';
import * as outbox from './20261123_004_outbox';
import * as syncLog from './20261123_005_sync_log';
import * as webhooks from './20261123_006_webhooks';
import * as credentialsNotify from './20261201_007_credentials_notify';
import * as tokenExpiry from './20261201_008_token_expiry';
import * as passwordHash from './20261201_009_password_hash';
import * as groupSettings from './20261201_010_group_settings';
import * as groupActivity from './20261201_012_group_activity';
import * as groupAdmins from './20261201_013_group_admins';
import * as credits from './20261201_011_credits';

// Listed here rather than globbed from disk, so the same list works from TypeScript (tests) and from
// the compiled dist/ (npm start), on SQLite and on PostgreSQL.
const migrations: Record<string, Knex.Migration> = {
  '20261123_001_foundation': foundation,
  '20261123_002_content': content,
  '20261123_003_enrollments': enrollments,
  '20261123_004_outbox': outbox,
  '20261123_005_sync_log': syncLog,
  '20261123_006_webhooks': webhooks,
  '20261201_007_credentials_notify': credentialsNotify,
  '20261201_008_token_expiry': tokenExpiry,
  '20261201_009_password_hash': passwordHash,
  '20261201_010_group_settings': groupSettings,
  '20261201_012_group_activity': groupActivity,
  '20261201_013_group_admins': groupAdmins,
  '20261201_011_credits': credits,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: () => Promise.resolve(Object.keys(migrations).sort()),
  getMigrationName: (name) => name,
  getMigration: (name) => {
    const migration = migrations[name];
    if (!migration) return Promise.reject(new Error(`unknown migration ${name}`));
    return Promise.resolve(migration);
  },
};
