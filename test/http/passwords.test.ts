import { verifyPassword } from '../../src/scim/passwords';
import { createTestApp, PATCH_OP, USER, type TestApp } from '../helpers/app';

/**
 * Passwords identity providers push: dropped by default; with SCIM_PASSWORDS=scrypt kept as a salted
 * scrypt hash that the pushed password verifies against. Never returned either way, and neither the
 * password nor its hash is in any response or in the sync log.
 */
describe('pushed passwords', () => {
  const hashOf = async (t: TestApp, userName: string) => ((await t.db.knex('users').where({ user_name: userName }).first()) as { password_hash: string | null }).password_hash;

  it('are dropped by default: nothing stored, nothing returned', async () => {
    const t = await createTestApp();
    try {
      const scim = await t.scim();
      const res = await scim.post('/Users', { schemas: [USER], userName: 'drop@example.com', password: 'Dropped-1234' }).expect(201);
      expect(res.body.password).toBeUndefined();
      expect(await hashOf(t, 'drop@example.com')).toBeNull();
      const row = JSON.stringify(await t.db.knex('users').where({ user_name: 'drop@example.com' }).first());
      expect(row).not.toContain('Dropped-1234');
    } finally {
      await t.close();
    }
  });

  it('are kept as salted scrypt hashes with SCIM_PASSWORDS=scrypt, set by POST, PUT and PATCH, never returned', async () => {
    const t = await createTestApp({ passwords: 'scrypt' });
    try {
      const scim = await t.scim();
      const texts: string[] = [];
      const keep = <R extends { text: string }>(res: R): R => (texts.push(res.text), res);
      const created = keep(await scim.post('/Users', { schemas: [USER], userName: 'ada@example.com', password: 'First-pass-1' }).expect(201));
      const id = created.body.id as string;
      const first = (await hashOf(t, 'ada@example.com'))!;
      expect(first).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      expect(await verifyPassword('First-pass-1', first)).toBe(true);
      expect(await verifyPassword('first-pass-1', first)).toBe(false);

      // The same password for another user hashes differently: the salt is the user's own.
      keep(await scim.post('/Users', { schemas: [USER], userName: 'bob@example.com', password: 'First-pass-1' }).expect(201));
      expect(await hashOf(t, 'bob@example.com')).not.toBe(first);

      keep(await scim.put(`/Users/${id}`, { schemas: [USER], userName: 'ada@example.com', displayName: 'Ada' }).expect(200));
      expect(await hashOf(t, 'ada@example.com')).toBe(first); // a PUT without one leaves it
      keep(await scim.put(`/Users/${id}`, { schemas: [USER], userName: 'ada@example.com', displayName: 'Ada', password: 'Second-pass-2' }).expect(200));
      expect(await verifyPassword('Second-pass-2', (await hashOf(t, 'ada@example.com'))!)).toBe(true);
      keep(await scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'password', value: 'Third-pass-3' }] }).expect(204));
      expect(await verifyPassword('Third-pass-3', (await hashOf(t, 'ada@example.com'))!)).toBe(true);
      keep(await scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { password: 'Fourth-pass-4' } }] }).expect(204));
      expect(await verifyPassword('Fourth-pass-4', (await hashOf(t, 'ada@example.com'))!)).toBe(true);
      const last = (await hashOf(t, 'ada@example.com'))!;
      keep(await scim.get(`/Users/${id}`).expect(200));
      keep(await scim.get('/Users?filter=userName%20eq%20%22ada@example.com%22').expect(200));
      keep(await scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'password' }] }).expect(204));
      expect(await hashOf(t, 'ada@example.com')).toBeNull();

      await t.syncLog.writer.flush();
      const log = JSON.stringify(await t.db.knex('sync_log').select());
      for (const text of [...texts, log]) {
        for (const secret of ['First-pass-1', 'Second-pass-2', 'Third-pass-3', 'Fourth-pass-4', first, last, 'password_hash']) expect(text).not.toContain(secret);
      }
      expect(log).toContain('ada@example.com');
    } finally {
      await t.close();
    }
  });
});
