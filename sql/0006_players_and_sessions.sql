-- Players (the devices in a room), the sounds each may play, how a room's listeners count, the
-- codes and keys that name a room, and listeners' check-ins.

-- How a room's listeners count when its mix is picked, chosen per player by its manager:
-- `mean` (the group vector), `least_misery` (each song by the listener it suits least) or
-- `fair` (a mean weighted towards those the session's mixes have fitted worst). The rules are
-- the extension's (`group.rs`); this is what they read and write.
create type cosound.group_strategy as enum ('mean', 'least_misery', 'fair');
comment on type cosound.group_strategy is
  'How the listeners at a player are combined: mean, least_misery or fair.';

create table cosound.players (
  id bigint generated always as identity primary key,
  name text not null
    constraint name_is_1_to_100_characters check (char_length(btrim(name)) between 1 and 100),
  -- The manager who runs it.
  owner_id uuid references cosound.profiles (id) on delete set null,
  created_at timestamptz not null default now(),
  -- When the device last reported in (its heartbeat).
  last_seen_at timestamptz,
  -- One account could otherwise sway any room from home: a room takes check-ins by its code
  -- (the QR code or NFC tag in the room) unless its manager lets listeners choose it.
  check_in_by_choice boolean not null default false,
  strategy cosound.group_strategy not null default 'mean',
  time_zone text not null default 'UTC'
);
comment on column cosound.players.check_in_by_choice is
  'Whether listeners may check in by choosing the room; otherwise only its check-in code works.';
comment on column cosound.players.time_zone is
  'The IANA time zone the player''s schedule is read in (Europe/Paris, America/New_York, UTC).';

create index players_by_owner on cosound.players (owner_id);

-- The only sounds a player may play; none at all means the whole catalogue.
create table cosound.player_library (
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  primary key (player_id, song_id)
);

create index player_library_by_song on cosound.player_library (song_id);

-- Printed as a QR code or written to an NFC tag in the room; scanning it checks a listener in.
-- Kept apart from players so that listeners can see the rooms but not their codes.
create table cosound.checkin_codes (
  code text primary key
    constraint code_is_6_to_32_capitals_digits_or_dashes check (code ~ '^[A-Z0-9-]{6,32}$'),
  player_id bigint not null references cosound.players (id) on delete cascade,
  created_at timestamptz not null default now()
);
create index checkin_codes_by_player on cosound.checkin_codes (player_id);

-- Player keys: the credential a player device trades at the gateway for a short-lived JWT.
-- Only a SHA-256 of each key is stored (keys carry 256 random bits, so a fast hash reveals
-- nothing); one key per player, so rotating replaces the row and revoking deletes it.
create table cosound.player_keys (
  player_id bigint primary key references cosound.players (id) on delete cascade,
  key_hash bytea not null unique
    constraint key_hash_is_a_sha256 check (octet_length(key_hash) = 32),
  created_at timestamptz not null default now()
);
comment on table cosound.player_keys is
  'The current key of each player, as SHA-256 of the key. Only the gateway reads the hash and '
  'writes keys; managers may read when the key of a player they run was issued.';

-- A check-in. It counts while it is open and unexpired, so an expired session stops counting
-- with no job to close it.
create table cosound.sessions (
  id bigint generated always as identity primary key,
  listener_id uuid not null references cosound.profiles (id) on delete cascade,
  player_id bigint not null references cosound.players (id) on delete cascade,
  started_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '1 hour',
  ended_at timestamptz,
  -- How well the mixes fitted the listener over the session, counted by the refresh: the
  -- seconds counted, those seconds times the mix's fit (cosine similarity, -1 to 1), and up to
  -- when. The fair strategy weighs each listener by the mean, served_fit_seconds / served_seconds.
  served_seconds float8 not null default 0
    constraint served_seconds_are_not_negative check (served_seconds >= 0),
  served_fit_seconds float8 not null default 0
    constraint served_fit_is_a_mean_of_similarities
      check (abs(served_fit_seconds) <= served_seconds * 1.000001),
  served_until timestamptz,
  -- How close the mix the player was last given is to the listener: the gain-weighted cosine
  -- similarity of its layers to their taste, written by the refresh (`group::fit`).
  share real constraint share_is_a_similarity check (share between -1.0001 and 1.0001),
  constraint expires_after_it_starts check (expires_at > started_at),
  constraint ends_after_it_starts check (ended_at is null or ended_at >= started_at)
);
comment on column cosound.sessions.share is
  'How close the mix the player was last given is to this listener''s taste (cosine similarity, -1 to 1).';

-- At most one open session per listener: check_in closes the previous one.
create unique index one_open_session_per_listener on cosound.sessions (listener_id)
  where ended_at is null;
-- Who is at a player now (the group vector), and who was there lately (its default).
create index open_sessions_by_player on cosound.sessions (player_id, expires_at)
  where ended_at is null;
create index sessions_by_player_and_start on cosound.sessions (player_id, started_at);

-- Checks a listener in at a player for an hour, ending any session they had open.
create function cosound.check_in(listener uuid, player bigint) returns cosound.sessions
language plpgsql
set search_path = ''
as $$
declare
  session cosound.sessions;
begin
  -- Serialises a listener's check-ins, so two at once cannot both open a session.
  perform from cosound.profiles where id = listener for no key update;
  if not found then
    raise foreign_key_violation using message = format('no listener with id %s', listener);
  end if;
  update cosound.sessions set ended_at = least(now(), expires_at)
    where listener_id = listener and ended_at is null;
  insert into cosound.sessions (listener_id, player_id) values (listener, player)
    returning * into session;
  return session;
end
$$;

-- Ends the listener's session at once; false when they had none open.
create function cosound.check_out(listener uuid) returns boolean
language sql
set search_path = ''
as $$
  with ended as (
    update cosound.sessions set ended_at = least(now(), expires_at)
      where listener_id = listener and ended_at is null
      returning 1
  )
  select exists (select from ended)
$$;
