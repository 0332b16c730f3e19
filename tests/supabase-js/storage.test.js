// The frontend's file calls, made through storage-js (inside supabase-js) against `scaliyo
// serve`: uploads into the caller's own folder, downloads, public and signed URLs, folder
// listings and deletes — and what another user and the anonymous role cannot do.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ADA, BOB, URL, ada, bob, anonymous, ok, signUp } from './clients.js';

// A 1×1 PNG.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f5d3e60000000049454e44ae426082',
  'hex',
);

async function bytesOf(response) {
  return Buffer.from(await response.arrayBuffer());
}

test('uploads (raw and multipart, x-upsert, update), downloads and public URLs', async () => {
  await signUp();
  const avatars = ada.storage.from('avatars');
  const path = `${ADA.id}/me.png`;
  const uploaded = ok(await avatars.upload(path, PNG, { contentType: 'image/png' }));
  assert.equal(uploaded.path, path);
  assert.equal(uploaded.fullPath, `avatars/${path}`);
  assert.match(uploaded.id, /^[0-9a-f-]{36}$/);

  const again = await avatars.upload(path, PNG, { contentType: 'image/png' });
  assert.equal(again.error?.statusCode, '409', JSON.stringify(again.error));

  // A Blob goes as a multipart form; x-upsert replaces.
  ok(await avatars.upload(path, new Blob([PNG], { type: 'image/png' }), { upsert: true }));
  ok(await avatars.update(path, PNG, { contentType: 'image/png' }));
  const missing = await avatars.update(`${ADA.id}/none.png`, PNG, { contentType: 'image/png' });
  assert.equal(missing.error?.statusCode, '404');

  const blob = ok(await avatars.download(path));
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), PNG);

  const { publicUrl } = anonymous.storage.from('avatars').getPublicUrl(path).data;
  assert.equal(publicUrl, `${URL}/storage/v1/object/public/avatars/${path}`);
  const served = await fetch(publicUrl);
  assert.equal(served.status, 200);
  assert.deepEqual(await bytesOf(served), PNG);

  const wrongType = await avatars.upload(`${ADA.id}/notes.txt`, 'hello');
  assert.equal(wrongType.error?.statusCode, '415', JSON.stringify(wrongType.error));
});

test('signed URLs of a private bucket, listings, exists and deletes', async () => {
  const media = ada.storage.from('social_media');
  const path = `${ADA.id}/posts/launch.png`;
  ok(await media.upload(path, PNG, { contentType: 'image/png', upsert: true }));

  const { signedUrl } = ok(await media.createSignedUrl(path, 60));
  assert.ok(signedUrl.startsWith(`${URL}/storage/v1/object/sign/social_media/${path}?token=`), signedUrl);
  const read = await fetch(signedUrl);
  assert.equal(read.status, 200);
  assert.deepEqual(await bytesOf(read), PNG);
  // One hex digit of the token changed (to another digit, whatever it was).
  const forged = await fetch(signedUrl.replace(/token=([0-9a-f])/, (_, d) => `token=${d === '0' ? '1' : '0'}`));
  assert.equal(forged.status, 400);
  const elsewhere = await fetch(signedUrl.replace('launch.png', 'other.png'));
  assert.equal(elsewhere.status, 400);

  const many = ok(await media.createSignedUrls([path, `${ADA.id}/posts/none.png`], 60));
  assert.equal(many.length, 2);
  assert.ok(many[0].signedUrl);
  assert.equal(many[1].signedUrl, null);
  assert.ok(many[1].error);

  const top = ok(await media.list(ADA.id));
  assert.deepEqual(top.map((e) => [e.name, e.id]), [['posts', null]]);
  const inside = ok(await media.list(`${ADA.id}/posts`, { search: 'laun' }));
  assert.deepEqual(inside.map((e) => e.name), ['launch.png']);
  assert.equal(inside[0].metadata.size, PNG.length);
  assert.equal(inside[0].metadata.mimetype, 'image/png');

  assert.equal(ok(await media.exists(path)), true);
  assert.equal((await media.exists(`${ADA.id}/posts/none.png`)).data, false);
  const info = ok(await media.info(path));
  assert.equal(info.size, PNG.length);

  const removed = ok(await media.remove([path, `${ADA.id}/posts/none.png`]));
  assert.deepEqual(removed.map((o) => o.name), [path]);
  assert.equal((await fetch(signedUrl)).status, 404);
});

test('another user and the anonymous role reach nothing of Ada', async () => {
  const path = `${ADA.id}/private/contract.png`;
  ok(await ada.storage.from('social_media').upload(path, PNG, { contentType: 'image/png', upsert: true }));

  const bobMedia = bob.storage.from('social_media');
  assert.equal((await bobMedia.download(path)).data, null);
  assert.equal((await bobMedia.createSignedUrl(path, 60)).data, null);
  assert.deepEqual(ok(await bobMedia.list(ADA.id)), []);
  assert.deepEqual(ok(await bobMedia.remove([path])), []);
  const intrusion = await bob.storage
    .from('avatars')
    .upload(`${ADA.id}/me.png`, PNG, { contentType: 'image/png', upsert: true });
  assert.equal(intrusion.error?.statusCode, '403', JSON.stringify(intrusion.error));
  // Bob's own folder works for Bob.
  ok(await bob.storage.from('avatars').upload(`${BOB.id}/me.png`, PNG, { contentType: 'image/png', upsert: true }));

  const signedOut = anonymous.storage.from('avatars');
  const upload = await signedOut.upload(`${ADA.id}/x.png`, PNG, { contentType: 'image/png' });
  assert.equal(upload.error?.statusCode, '401', JSON.stringify(upload.error));
  assert.equal((await anonymous.storage.from('social_media').download(path)).data, null);
  // A private bucket has no public URL.
  const { publicUrl } = anonymous.storage.from('social_media').getPublicUrl(path).data;
  assert.equal((await fetch(publicUrl)).status, 404);

  // Still there for Ada.
  assert.equal(ok(await ada.storage.from('social_media').exists(path)), true);
});
