// A listener's visit with supabase-js exactly as an app written for Supabase makes it:
// sign up, sign in, refresh, check in, see the room's queue, rate, be refused, sign out.
// Only the URL, the anon key and the schema name say that this is Cosound's local stack.
// tests/tests/supabase_js.rs sets up the room and runs it; any failed step exits non-zero.

import assert from 'node:assert/strict';
import { createClient } from '@supabase/supabase-js';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
};
const url = env('SUPABASE_URL');
const anonKey = env('SUPABASE_ANON_KEY');
const code = env('COSOUND_CHECKIN_CODE');
const playerId = Number(env('COSOUND_PLAYER_ID'));
const songId = Number(env('COSOUND_SONG_ID'));

const options = {
  db: { schema: 'api' },
  auth: { persistSession: false, autoRefreshToken: false },
};
const supabase = createClient(url, anonKey, options);

function step(name, detail) {
  console.log(`ok - ${name}${detail ? `: ${detail}` : ''}`);
}

// The data of a call that must succeed.
function expectData({ data, error }, what) {
  assert.equal(error, null, `${what}: ${JSON.stringify(error)}`);
  return data;
}

const email = `js-${process.pid}-${Date.now()}@example.test`;
const password = 'waves-on-stone-8';

const signedUp = expectData(await supabase.auth.signUp({ email, password }), 'signUp');
assert.equal(signedUp.user.email, email);
assert.equal(signedUp.session, null, 'a sign-up is not a sign-in: the answer is the same for a taken address');
step('auth.signUp');

const again = expectData(await supabase.auth.signUp({ email, password: 'other-stones-9' }), 'signUp again');
assert.deepEqual(Object.keys(again.user).sort(), Object.keys(signedUp.user).sort());
assert.equal(again.session, null);
assert.notEqual(again.user.id, signedUp.user.id, 'no answer carries the account\'s id');
step('auth.signUp answers a taken address as a new one');

const wrong = await supabase.auth.signInWithPassword({ email, password: 'other-stones-9' });
assert.equal(wrong.error?.code, 'invalid_credentials', 'the second sign-up did not change the password');
assert.equal(wrong.data.session, null);
step('auth.signInWithPassword refuses a wrong password');

const signedIn = expectData(
  await supabase.auth.signInWithPassword({ email, password }),
  'signInWithPassword',
);
assert.equal(signedIn.user.email, email);
step('auth.signInWithPassword');

const me = expectData(await supabase.auth.getUser(), 'getUser');
assert.equal(me.user.email, email);
step('auth.getUser');

const firstRefresh = signedIn.session.refresh_token;
const refreshed = expectData(await supabase.auth.refreshSession(), 'refreshSession');
assert.notEqual(refreshed.session.refresh_token, firstRefresh);
assert.equal(refreshed.user.id, signedIn.user.id);
step('auth.refreshSession rotates the refresh token');

const checkedIn = expectData(await supabase.rpc('check_in', { code }), 'rpc check_in');
assert.equal(checkedIn.player_id, playerId, JSON.stringify(checkedIn));
step('rpc check_in by code');

const queue = expectData(
  await supabase.from('player_queue').select('slot, song_id, title, version').eq('player_id', playerId),
  'player_queue',
);
assert.ok(queue.length > 0, 'the room has a queue');
assert.ok(queue.some((row) => row.song_id === songId), JSON.stringify(queue));
step(`from('player_queue').select() sees ${queue.length} songs`);

const rated = expectData(await supabase.rpc('rate', { rating: 5, song_id: songId }), 'rpc rate');
assert.ok(rated, 'rate answers');
const votes = expectData(await supabase.from('my_votes').select('song_id, rating'), 'my_votes');
assert.deepEqual(votes, [{ song_id: songId, rating: 5 }]);
step('rpc rate, and my_votes shows it');

const outOfRange = await supabase.rpc('rate', { rating: 9, song_id: songId });
assert.ok(outOfRange.error, 'a rating of 9 is refused');
assert.equal(outOfRange.status, 400);
assert.match(outOfRange.error.message, /1.*5/);
const deleted = await supabase.from('my_votes').delete().eq('song_id', songId);
assert.equal(deleted.status, 405);
assert.match(deleted.error.message, /read-only/);
const stillThere = expectData(await supabase.from('my_votes').select('rating'), 'my_votes');
assert.equal(stillThere.length, 1);
step('refused calls say why and change nothing', `${outOfRange.error.message} / ${deleted.error.message}`);

const lastRefresh = refreshed.session.refresh_token;
expectData(await supabase.auth.signOut(), 'signOut');
const { data: after } = await supabase.auth.getSession();
assert.equal(after.session, null);
const replay = createClient(url, anonKey, options);
const refused = await replay.auth.refreshSession({ refresh_token: lastRefresh });
// GoTrue's session_not_found, which auth-js reports as a missing session.
assert.equal(refused.error?.name, 'AuthSessionMissingError', JSON.stringify(refused.error));
assert.equal(refused.data.session, null);
const anonymous = await replay.from('my_votes').select('rating');
assert.ok(anonymous.error, 'the anon key cannot read votes');
step('auth.signOut ends the session; the anon key reads no votes', anonymous.error.message);
