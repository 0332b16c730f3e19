// The frontend's Edge Function calls (`supabase.functions.invoke`) through the real client
// against `scaliyo serve`: each function with the body the React app sends and the answer it
// reads, errors as functions-js hands them over (a FunctionsHttpError whose `context` is the
// response), and isolation between two users and the anonymous role.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ADA, BOB, URL, ada, bob, anonymous, ok, signUp } from './clients.js';

// The error body of a failed invocation, with its status.
async function failure({ data, error }) {
  assert.equal(data, null);
  assert.ok(error, 'the invocation should have failed');
  assert.equal(error.name, 'FunctionsHttpError', String(error));
  const body = await error.context.json();
  assert.equal(body.success, false);
  assert.equal(typeof body.error, 'string');
  // The HTTP status wins over a `status` detail of the body (a post's or invoice's state).
  return { ...body, status: error.context.status };
}

const state = {};

test('setup: Ada connects an SMTP sender and a SendGrid sender, and has a lead', async () => {
  await signUp();
  const smtp = ok(
    await ada.functions.invoke('connect-smtp', {
      body: {
        host: 'smtp.acme.example', port: 587, user: 'ada', pass: 'secret-smtp-password',
        secure: false, from_email: 'ada@acme.example', from_name: 'Ada',
      },
    }),
  );
  assert.equal(smtp.success, true);
  assert.equal(smtp.account.provider, 'smtp');
  assert.equal(smtp.account.from_email, 'ada@acme.example');
  assert.ok(!JSON.stringify(smtp).includes('secret-smtp-password'), 'the password is never returned');

  const sendgrid = ok(
    await ada.functions.invoke('connect-sendgrid', {
      body: { api_key: 'SG.secret-key', from_email: 'news@acme.example' },
    }),
  );
  assert.equal(sendgrid.account.provider, 'sendgrid');
  assert.ok(!JSON.stringify(sendgrid).includes('SG.secret-key'));

  const bad = await failure(await ada.functions.invoke('connect-smtp', { body: { host: 'x' } }));
  assert.equal(bad.status, 400);
  assert.equal(bad.code, 'invalid_body');

  state.lead = ok(
    await ada
      .from('leads')
      .insert({ name: 'Grace Hopper', first_name: 'Grace', primary_email: 'grace@navy.example', emails: ['grace@navy.example', 'g.hopper@home.example'] })
      .select('id')
      .single(),
  ).id;
});

test('send-email in the frontend shape sends through the named sender and records the message', async () => {
  const sent = ok(
    await ada.functions.invoke('send-email', {
      body: {
        to_email: 'g.hopper@home.example', subject: 'Hello {{first_name}}',
        html_body: '<p>Hi {{first_name}}, <a href="https://acme.example/deck">our deck</a></p>',
        lead_id: state.lead, from_email: 'ada@acme.example', provider: 'smtp',
        track_opens: true, track_clicks: true,
      },
    }),
  );
  assert.equal(sent.success, true);
  assert.ok(sent.message_id);
  assert.ok(sent.provider_message_id);
  assert.equal(sent.provider, 'smtp');
  assert.equal(sent.to_email, 'g.hopper@home.example');

  const message = ok(
    await ada.from('email_messages').select('id, to_email, subject, status, provider').eq('id', sent.message_id).single(),
  );
  assert.deepEqual(message, {
    id: sent.message_id, to_email: 'g.hopper@home.example', subject: 'Hello Grace', status: 'sent', provider: 'smtp',
  });

  // Our own /v1 shape is accepted too (the sender chosen by rotation, the lead's first address).
  const ours = ok(await ada.functions.invoke('send-email', { body: { lead_id: state.lead, subject: 'Again', html_body: '<p>x</p>' } }));
  assert.equal(ours.to_email, 'grace@navy.example');
});

test('send-email refuses what it cannot send, and changes nothing', async () => {
  const stranger = await failure(
    await ada.functions.invoke('send-email', {
      body: { to_email: 'someone@else.example', subject: 's', html_body: '<p>b</p>', lead_id: state.lead },
    }),
  );
  assert.equal(stranger.status, 400);
  assert.match(stranger.error, /to_email/);

  const noSender = await failure(
    await ada.functions.invoke('send-email', {
      body: { subject: 's', html_body: '<p>b</p>', lead_id: state.lead, from_email: 'nobody@acme.example', provider: 'smtp' },
    }),
  );
  assert.equal(noSender.status, 409);
  assert.equal(noSender.code, 'no_sender');

  const badProvider = await failure(
    await ada.functions.invoke('send-email', {
      body: { subject: 's', html_body: '<p>b</p>', lead_id: state.lead, from_email: 'ada@acme.example', provider: 'pigeon' },
    }),
  );
  assert.equal(badProvider.status, 400);

  const noLead = await failure(await ada.functions.invoke('send-email', { body: { subject: 's', html_body: '<p>b</p>' } }));
  assert.equal(noLead.status, 400);
  assert.match(noLead.error, /lead_id/);

  // Only the two sends of the test before reached the lead.
  const { count } = await ada.from('email_messages').select('id', { count: 'exact', head: true }).eq('lead_id', state.lead);
  assert.equal(count, 2);
});

test('Bob and the anonymous role cannot send to Ada\'s lead or use her sender', async () => {
  const bobToAda = await failure(
    await bob.functions.invoke('send-email', {
      body: { to_email: 'grace@navy.example', subject: 's', html_body: '<p>b</p>', lead_id: state.lead },
    }),
  );
  assert.equal(bobToAda.status, 404);

  const bobLead = ok(await bob.from('leads').insert({ name: 'Bob Lead', primary_email: 'lead@bob.example' }).select('id').single()).id;
  const bobAsAda = await failure(
    await bob.functions.invoke('send-email', {
      body: { subject: 's', html_body: '<p>b</p>', lead_id: bobLead, from_email: 'ada@acme.example' },
    }),
  );
  assert.equal(bobAsAda.status, 409);
  assert.equal(bobAsAda.code, 'no_sender');

  const signedOut = await failure(
    await anonymous.functions.invoke('send-email', { body: { subject: 's', html_body: '<p>b</p>', lead_id: state.lead } }),
  );
  assert.equal(signedOut.status, 401);
  const connectOut = await failure(
    await anonymous.functions.invoke('connect-sendgrid', { body: { api_key: 'SG.x', from_email: 'x@y.example' } }),
  );
  assert.equal(connectOut.status, 401);
});

test('apollo-import brings contacts in through the import, with dedupe', async () => {
  const started = ok(
    await ada.functions.invoke('apollo-import', {
      body: {
        contacts: [
          { first_name: 'Linus', last_name: 'Pauling', email: 'linus@caltech.example', title: 'Chemist',
            organization: { name: 'Caltech', website_url: 'https://caltech.example' },
            phone_numbers: [{ sanitized_number: '+16265550100' }], linkedin_url: 'https://www.linkedin.com/in/linus' },
          { name: 'Grace Again', email: 'GRACE@navy.example', organization_name: 'Navy' },
          { name: 'No Address' },
        ],
      },
    }),
  );
  assert.equal(started.success, true);
  assert.equal(started.contacts, 3);
  let batch;
  for (let i = 0; i < 100; i += 1) {
    batch = ok(await ada.from('import_batches').select('*').eq('id', started.batch_id).single());
    if (['completed', 'failed'].includes(batch.status)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  assert.equal(batch.file_type, 'apollo');
  const linus = ok(await ada.from('leads').select('name, company, title, source').eq('primary_email', 'linus@caltech.example').single());
  assert.deepEqual(linus, { name: 'Linus Pauling', company: 'Caltech', title: 'Chemist', source: 'apollo' });
  const { count } = await ada.from('leads').select('id', { count: 'exact', head: true }).ilike('primary_email', 'grace@navy.example');
  assert.equal(count, 1, 'the known address is not imported twice');

  const empty = await failure(await ada.functions.invoke('apollo-import', { body: { contacts: [] } }));
  assert.equal(empty.status, 400);
  assert.equal((await failure(await anonymous.functions.invoke('apollo-import', { body: { contacts: [{}] } }))).status, 401);
});

test('social-schedule schedules, social-post-now publishes', async () => {
  const connected = await fetch(`${URL}/v1/social/accounts/meta`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADA.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ page_id: '1050', page_name: 'Acme', page_access_token: 'EAAB-page-token' }),
  });
  assert.equal(connected.status, 201);
  const account = await connected.json();
  const targets = [{ account_id: account.id, channel: 'facebook_page' }];

  const later = new Date(Date.now() + 86_400_000).toISOString();
  const scheduled = ok(await ada.functions.invoke('social-schedule', { body: { content_text: 'Tomorrow', scheduled_at: later, targets } }));
  assert.equal(scheduled.post.status, 'scheduled');
  const undated = await failure(await ada.functions.invoke('social-schedule', { body: { content_text: 'When?', targets } }));
  assert.equal(undated.status, 400);

  const now = ok(await ada.functions.invoke('social-post-now', { body: { content_text: 'Right now', targets } }));
  assert.equal(now.success, true, JSON.stringify(now));
  assert.equal(now.post.status, 'completed');
  assert.equal(now.post.summary.published, 1);

  // A scheduled post can be published early; a published one cannot be published again.
  const early = ok(await ada.functions.invoke('social-post-now', { body: { post_id: scheduled.post.id } }));
  assert.equal(early.post.status, 'completed');
  const again = await failure(await ada.functions.invoke('social-post-now', { body: { post_id: scheduled.post.id } }));
  assert.equal(again.status, 409);
  assert.equal(again.code, 'not_publishable');

  // Bob cannot publish or schedule Ada's post.
  const draft = ok(await ada.from('social_posts').insert({ content_text: 'Draft' }).select('id').single());
  assert.equal((await failure(await bob.functions.invoke('social-post-now', { body: { post_id: draft.id } }))).status, 404);
  assert.equal(
    (await failure(await bob.functions.invoke('social-schedule', { body: { post_id: draft.id, scheduled_at: later } }))).status,
    404,
  );
  assert.equal(ok(await ada.from('social_posts').select('status').eq('id', draft.id).single()).status, 'draft');
});

test('billing-actions and billing-create-invoice', async () => {
  const summary = ok(await ada.functions.invoke('billing-actions', { body: { action: 'summary' } }));
  assert.equal(summary.success, true);
  assert.ok(summary.plan, JSON.stringify(summary));
  const unknown = await failure(await ada.functions.invoke('billing-actions', { body: { action: 'free-money' } }));
  assert.equal(unknown.status, 400);
  // Checkout needs Stripe, which the local server does not configure: a clear 501.
  const checkout = await failure(await ada.functions.invoke('billing-actions', { body: { action: 'checkout', plan: 'pro' } }));
  assert.equal(checkout.status, 501);
  assert.equal(checkout.code, 'billing_not_configured');

  const pkg = ok(await ada.from('invoice_packages').insert({ name: 'Audit' }).select('id').single());
  ok(await ada.from('invoice_package_items').insert([
    { package_id: pkg.id, description: 'Audit day', quantity: 2, unit_price_cents: 50_000 },
    { package_id: pkg.id, description: 'Report', quantity: 1, unit_price_cents: 25_000 },
  ]));
  const draft = ok(await ada.functions.invoke('billing-create-invoice', { body: { lead_id: state.lead, package_id: pkg.id } }));
  assert.equal(draft.invoice.status, 'draft');
  assert.equal(draft.invoice.total_cents, 125_000);
  const sent = ok(await ada.functions.invoke('billing-create-invoice', { body: { lead_id: state.lead, package_id: pkg.id, send: true } }));
  assert.equal(sent.invoice.status, 'open', JSON.stringify(sent));

  const voided = ok(await ada.functions.invoke('billing-actions', { body: { action: 'void', invoice_id: sent.invoice.id } }));
  assert.equal(voided.invoice.status, 'void');
  const bobVoid = await failure(await bob.functions.invoke('billing-actions', { body: { action: 'void', invoice_id: draft.invoice.id } }));
  assert.equal(bobVoid.status, 404);
  const bobInvoice = await failure(
    await bob.functions.invoke('billing-create-invoice', { body: { lead_id: state.lead, package_id: pkg.id } }),
  );
  assert.equal(bobInvoice.status, 404);
  assert.equal(ok(await ada.from('invoices').select('status').eq('id', draft.invoice.id).single()).status, 'draft');
});
