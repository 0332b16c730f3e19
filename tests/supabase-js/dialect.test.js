// The frontend's data calls, made through the real supabase-js client against `scaliyo
// serve` (started by scripts/test, which passes its URL and two users' tokens). What runs
// here is what the React app runs once its Supabase URL points at our API.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ADA, BOB, URL, ada, bob, anonymous, ok, signUp } from './clients.js';

const names = (rows) => rows.map((r) => r.name);

test('setup: both users sign up and Ada adds leads in one bulk insert', async () => {
  await signUp();
  const rows = ok(
    await ada
      .from('leads')
      .insert([
        { name: 'Ana Lopez', primary_email: 'ana@acme.example', score: 70, status: 'Qualified', title: 'CEO', emails: ['ana@acme.example', 'a@x.example'], custom_fields: { tier: 'gold', seats: 12 } },
        { name: 'Bob Stone', primary_email: 'bob@stone.example', score: 40, status: 'New', custom_fields: { tier: 'silver' } },
        { name: 'Cy Young', primary_email: 'cy@young.example', score: 85, status: 'New', title: 'CTO' },
        { name: 'Dee, Jr.', primary_email: 'dee@jr.example', score: 55, status: 'Contacted' },
      ])
      .select('id, name, score, status'),
  );
  assert.equal(rows.length, 4);
  assert.deepEqual(Object.keys(rows[0]).sort(), ['id', 'name', 'score', 'status']);
});

test('every filter kind', async () => {
  const q = () => ada.from('leads').select('name');
  assert.deepEqual(names(ok(await q().eq('status', 'New').order('name'))), ['Bob Stone', 'Cy Young']);
  assert.deepEqual(names(ok(await q().neq('status', 'New').order('name'))), ['Ana Lopez', 'Dee, Jr.']);
  assert.deepEqual(names(ok(await q().gt('score', 70))), ['Cy Young']);
  assert.deepEqual(names(ok(await q().gte('score', 50).lte('score', 80).order('score'))), ['Dee, Jr.', 'Ana Lopez']);
  assert.deepEqual(names(ok(await q().lt('score', 50))), ['Bob Stone']);
  assert.deepEqual(names(ok(await q().like('name', '%Stone'))), ['Bob Stone']);
  assert.deepEqual(names(ok(await q().ilike('name', '%ANA%'))), ['Ana Lopez']);
  assert.deepEqual(names(ok(await q().is('title', null).order('name'))), ['Bob Stone', 'Dee, Jr.']);
  assert.deepEqual(names(ok(await q().in('name', ['Dee, Jr.', 'Cy Young']).order('name'))), ['Cy Young', 'Dee, Jr.']);
  assert.deepEqual(names(ok(await q().not('status', 'eq', 'New').order('name'))), ['Ana Lopez', 'Dee, Jr.']);
  assert.deepEqual(names(ok(await q().or('status.eq.Qualified,and(score.gt.80,title.eq.CTO)').order('name'))), ['Ana Lopez', 'Cy Young']);
  assert.deepEqual(names(ok(await q().contains('emails', ['a@x.example']))), ['Ana Lopez']);
  assert.deepEqual(names(ok(await q().contains('custom_fields', { tier: 'gold' }))), ['Ana Lopez']);
  assert.deepEqual(names(ok(await q().eq('custom_fields->>tier', 'silver'))), ['Bob Stone']);
  assert.deepEqual(names(ok(await q().filter('score', 'in', '(40,85)').order('score'))), ['Bob Stone', 'Cy Young']);
  assert.deepEqual(names(ok(await q().match({ status: 'New', score: 85 }))), ['Cy Young']);
});

test('order with nulls, ranges with counts, head', async () => {
  const ordered = ok(await ada.from('leads').select('name, title').order('title', { ascending: true, nullsFirst: true }).order('name'));
  assert.deepEqual(names(ordered), ['Bob Stone', 'Dee, Jr.', 'Ana Lopez', 'Cy Young']);
  const last = ok(await ada.from('leads').select('name').order('title', { ascending: false }).order('name'));
  assert.deepEqual(names(last), ['Bob Stone', 'Dee, Jr.', 'Cy Young', 'Ana Lopez']);

  const { data, count, error } = await ada.from('leads').select('name', { count: 'exact' }).order('score', { ascending: false }).range(1, 2);
  assert.equal(error, null);
  assert.equal(count, 4);
  assert.deepEqual(names(data), ['Ana Lopez', 'Dee, Jr.']);
  const head = await ada.from('leads').select('*', { count: 'exact', head: true }).eq('status', 'New');
  assert.equal(head.error, null);
  assert.equal(head.count, 2);
  const none = await ada.from('leads').select('*', { count: 'exact' }).eq('status', 'Lost');
  assert.equal(none.count, 0);
  assert.deepEqual(none.data, []);
  assert.equal(ok(await ada.from('leads').select('name').limit(2)).length, 2);
});

test('single and maybeSingle', async () => {
  const ana = ok(await ada.from('leads').select('name, score').eq('name', 'Ana Lopez').single());
  assert.deepEqual(ana, { name: 'Ana Lopez', score: 70 });
  const nobody = await ada.from('leads').select().eq('name', 'Nobody').maybeSingle();
  assert.equal(nobody.error, null);
  assert.equal(nobody.data, null);
  const many = await ada.from('leads').select().eq('status', 'New').single();
  assert.equal(many.error.code, 'PGRST116');
});

test('upserts on a unique constraint, updates and deletes by filter', async () => {
  const merged = ok(
    await ada
      .from('leads')
      .upsert({ client_id: ADA.id, primary_email: 'ana@acme.example', name: 'Ana María Lopez' }, { onConflict: 'client_id,primary_email' })
      .select('name, score'),
  );
  assert.deepEqual(merged, [{ name: 'Ana María Lopez', score: 70 }]);
  const ignored = ok(
    await ada
      .from('leads')
      .upsert([{ client_id: ADA.id, primary_email: 'ana@acme.example', name: 'Ignored' }, { client_id: ADA.id, primary_email: 'eve@new.example', name: 'Eve New' }], { onConflict: 'client_id,primary_email', ignoreDuplicates: true })
      .select('name'),
  );
  assert.deepEqual(names(ignored), ['Eve New']);

  const updated = ok(await ada.from('leads').update({ status: 'Contacted' }).eq('status', 'New').select('name'));
  assert.equal(updated.length, 3);
  const nothing = ok(await ada.from('leads').update({ status: 'Lost' }).eq('name', 'No such lead').select());
  assert.deepEqual(nothing, []);
  const deleted = ok(await ada.from('leads').delete().eq('name', 'Eve New').select('name'));
  assert.deepEqual(names(deleted), ['Eve New']);
  const { count } = await ada.from('leads').select('*', { count: 'exact', head: true });
  assert.equal(count, 4);
});

test('embedded resources along foreign keys', async () => {
  const cy = ok(await ada.from('leads').select('id').eq('name', 'Cy Young').single());
  for (const subject of ['Hello', 'Follow-up']) {
    ok(await ada.from('email_messages').insert({ lead_id: cy.id, provider: 'manual', to_email: 'cy@young.example', subject }));
  }
  const messages = ok(await ada.from('email_messages').select('subject, lead:leads(name, company)').order('subject'));
  assert.deepEqual(messages[0], { subject: 'Follow-up', lead: { name: 'Cy Young', company: '' } });
  const counted = ok(await ada.from('leads').select('name, email_messages(count)').eq('name', 'Cy Young'));
  assert.deepEqual(counted, [{ name: 'Cy Young', email_messages: [{ count: 2 }] }]);
  const inner = ok(await ada.from('leads').select('name, email_messages!inner(subject)').eq('email_messages.subject', 'Hello'));
  assert.deepEqual(inner, [{ name: 'Cy Young', email_messages: [{ subject: 'Hello' }] }]);
});

test('errors as PostgREST answers them', async () => {
  const unknown = await ada.from('leads').select('nope');
  assert.equal(unknown.error.code, '42703');
  const badType = await ada.from('leads').select().gt('score', 'lots');
  assert.equal(badType.error.code, '22P02');
  const duplicate = await ada.from('leads').insert({ name: 'Again', primary_email: 'CY@young.example' });
  assert.equal(duplicate.error.code, '23505');
  assert.equal(duplicate.status, 409);
  const missing = await ada.from('leads').insert({ primary_email: 'x@y.example' });
  assert.equal(missing.error.code, '23502');
  const check = await ada.from('leads').update({ status: 'Sideways' }).eq('name', 'Cy Young');
  assert.equal(check.error.code, '23514');
  const noTable = await ada.from('no_such_table').select();
  assert.equal(noTable.status, 404);
  const column = await ada.from('leads').insert({ name: 'X', nope: 1 });
  assert.equal(column.error.code, 'PGRST204');
  const serverOwned = await ada.from('subscriptions').insert({ user_id: ADA.id });
  assert.equal(serverOwned.error.code, '42501');
});

test('another user and the anonymous role see and change nothing of Ada', async () => {
  const adaLead = ok(await ada.from('leads').select('id').eq('name', 'Cy Young').single());
  assert.deepEqual(ok(await bob.from('leads').select()), []);
  assert.equal((await bob.from('leads').select().eq('id', adaLead.id).maybeSingle()).data, null);
  assert.deepEqual(ok(await bob.from('leads').update({ name: 'Taken' }).eq('id', adaLead.id).select()), []);
  assert.deepEqual(ok(await bob.from('leads').delete().eq('id', adaLead.id).select()), []);
  assert.deepEqual(ok(await bob.from('email_messages').select('subject, lead:leads(name)')), []);
  assert.equal(ok(await ada.from('leads').select('name').eq('id', adaLead.id).single()).name, 'Cy Young');

  assert.deepEqual(ok(await anonymous.from('leads').select()), []);
  const templates = ok(await anonymous.from('teamhub_flow_templates').select('name').order('name'));
  assert.deepEqual(names(templates), ['Basic Workflow', 'Project Delivery', 'Sales Sprint']);
  const write = await anonymous.from('leads').insert({ name: 'Anon' });
  assert.equal(write.error.code, '42501');
  assert.equal(write.status, 401);
});

test('RPCs with the SQL argument names, and a board snapshot', async () => {
  const used = ok(await ada.rpc('increment_ai_usage', { p_workspace_id: ADA.id, p_credits: 2, p_tokens: 1600 }));
  assert.equal(typeof used, 'object');
  const month = ok(await ada.rpc('get_workspace_monthly_usage', {}));
  assert.ok(month !== null);
  const foreign = await ada.rpc('increment_ai_usage', { p_workspace_id: BOB.id, p_credits: 1 });
  assert.equal(foreign.error.code, '42501');
  const unknown = await ada.rpc('no_such_function', {});
  assert.equal(unknown.error.code, 'PGRST202');
  assert.equal(unknown.status, 404);
  const badArgs = await ada.rpc('increment_ai_usage', { p_credits: 'many' });
  assert.equal(badArgs.status, 400);

  const built = await fetch(`${URL}/v1/teamhub/boards/from-template`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADA.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ template_id: '5c0a1f3e-0b1d-4c3a-9f00-000000000002', name: 'Q1 sprint' }),
  });
  assert.equal(built.status, 201);
  const board = (await built.json()).board;
  const snapshot = ok(await ada.rpc('get_board_snapshot', { p_board_id: board.id }));
  assert.equal(snapshot.board.name, 'Q1 sprint');
  assert.deepEqual(names(snapshot.lists), ['Prospects', 'Contacted', 'Meeting Booked', 'Proposal Sent', 'Won', 'Lost']);
  assert.equal(snapshot.cards.length, 3);
  assert.deepEqual(snapshot.members.map((m) => m.role), ['owner']);
  const hidden = await bob.rpc('get_board_snapshot', { p_board_id: board.id });
  assert.notEqual(hidden.error, null);
  assert.equal(hidden.data, null);
});
