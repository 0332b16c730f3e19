// The clients both suites use: two users (their tokens from scripts/test) and the anonymous
// role (the anon key alone), as the React app creates them.
import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';

export const URL = process.env.SCALIYO_URL;
const ANON_KEY = 'scaliyo-anon-key';
export const ADA = { id: process.env.SCALIYO_USER_A, token: process.env.SCALIYO_TOKEN_A };
export const BOB = { id: process.env.SCALIYO_USER_B, token: process.env.SCALIYO_TOKEN_B };

// Node 20 has no WebSocket; realtime is not part of this API, so its transport is inert.
class InertWebSocket {
  constructor() {
    this.readyState = 3;
  }
  close() {}
  send() {}
  addEventListener() {}
  removeEventListener() {}
}

export function client(user) {
  const options = { realtime: { transport: InertWebSocket }, auth: { persistSession: false } };
  if (user) options.accessToken = async () => user.token;
  return createClient(URL, ANON_KEY, options);
}

export const ada = client(ADA);
export const bob = client(BOB);
export const anonymous = client(null);

export function ok({ data, error }) {
  assert.equal(error, null, JSON.stringify(error));
  return data;
}


// Both users' profiles, as the app writes them at sign-up (again: nothing changes).
export async function signUp() {
  for (const user of [ADA, BOB]) {
    const { error } = await client(user)
      .from('profiles')
      .upsert({ id: user.id, email: `${user.id}@example.com` }, { ignoreDuplicates: true });
    assert.equal(error, null, JSON.stringify(error));
  }
}
