-- Players (the devices in a room), the sounds each may play, and listeners' check-ins.
create table cosound.players (
  id bigint generated always as identity primary key,
  name text not null
    constraint name_is_1_to_100_characters check (char_length(btrim(name)) between 1 and 100),
  -- The manager who runs it.
  owner_id uuid references cosound.profiles (id) on delete set null,
  created_at timestamptz not null default now()
);

create index players_by_owner on cosound.players (owner_id);

-- The only sounds a player may play; none at all means the whole catalogue.
create table cosound.player_library (
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  primary key (player_id, song_id)
);

create index player_library_by_song on cosound.player_library (song_id);

-- A check-in. It counts while it is open and unexpired, so an expired session stops counting
-- with no job to close it.
create table cosound.sessions (
  id bigint generated always as identity primary key,
  listener_id uuid not null references cosound.profiles (id) on delete cascade,
  player_id bigint not null references cosound.players (id) on delete cascade,
  started_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '1 hour',
  ended_at timestamptz,
  constraint expires_after_it_starts check (expires_at > started_at),
  constraint ends_after_it_starts check (ended_at is null or ended_at >= started_at)
);

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
