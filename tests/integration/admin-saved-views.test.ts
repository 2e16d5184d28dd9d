import { afterAll, expect, test } from 'vitest';
import { closeDb } from '../helpers/db';
import { cleanQuery } from '@/server/console/saved-views';
import { callerFor, signedInUser } from '../helpers/admin';

afterAll(() => closeDb());

test('saved views are shared with the team; only the author or an admin deletes one', async () => {
  const support = await signedInUser('support');
  const viewer = await signedInUser('viewer');
  const admin = await signedInUser('admin');
  const saved = await callerFor(support.headers()).admin.views.save({ name: 'Late today', query: '?flags=late&after=2026-01-01_x&evil=1' });
  expect(saved.query).toBe('flags=late');
  const seen = await callerFor(viewer.headers()).admin.views.list();
  expect(seen.map((v) => v.id)).toContain(saved.id);
  await expect(callerFor(viewer.headers()).admin.views.delete({ id: saved.id })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  await callerFor(admin.headers()).admin.views.delete({ id: saved.id });
  expect((await callerFor(viewer.headers()).admin.views.list()).map((v) => v.id)).not.toContain(saved.id);
});

test('cleanQuery keeps only the list filters', () => {
  expect(cleanQuery('q=%C2%A512.30&status=paid,closed&x=1')).toBe('q=%C2%A512.30&status=paid%2Cclosed');
});
