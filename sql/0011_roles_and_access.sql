-- Who may do what: the `player` API role for devices, staff roles (admin, manager) for people,
-- and the questions every policy asks. Tables stay private; these functions are the only way
-- a policy or the gateway learns a role, so the rules live in one place.

-- Devices reach PostgREST with a short-lived JWT from the gateway whose `role` claim is
-- `player` and whose `player_id` claim names the device (no `sub`: it is not a user).
do $$
begin
  if not exists (select from pg_roles where rolname = 'player') then
    create role player nologin noinherit;
  end if;
end
$$;
grant player to authenticator;
grant usage on schema api, extensions to player;

-- Elevated users. An admin runs the whole installation; a manager runs the players they own.
create type cosound.staff_role as enum ('admin', 'manager');

create table cosound.staff (
  user_id uuid not null references cosound.profiles (id) on delete cascade,
  role cosound.staff_role not null,
  granted_at timestamptz not null default now(),
  primary key (user_id, role)
);

comment on table cosound.staff is 'Elevated users: admins run everything, managers run the players they own.';

-- Security definer: policies on the staff table itself call these, and must not recurse.
create function cosound.has_role(wanted cosound.staff_role, uid uuid default auth.uid())
returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (select from cosound.staff where user_id = uid and role = wanted)
$$;

comment on function cosound.has_role is 'Whether the user (by default: the request''s) holds this staff role.';

-- An admin manages every player; a manager the players they own, while they are a manager.
create function cosound.manages_player(player bigint, uid uuid default auth.uid())
returns boolean
language sql stable security definer set search_path = ''
as $$
  select cosound.has_role('admin', uid)
      or (cosound.has_role('manager', uid)
          and exists (select from cosound.players where id = player and owner_id = uid))
$$;

comment on function cosound.manages_player is 'Whether the user (by default: the request''s) may manage this player.';

-- The device making the request, from a player JWT; null for anyone else.
create function cosound.request_player_id() returns bigint
language sql stable
as $$
  select case when auth.role() = 'player' then (auth.jwt() ->> 'player_id')::bigint end
$$;

comment on function cosound.request_player_id is 'The player_id claim of a player JWT; null for other requests.';

revoke execute on function cosound.has_role, cosound.manages_player, cosound.request_player_id
  from public;
grant execute on function cosound.has_role, cosound.manages_player, cosound.request_player_id
  to authenticated, player;

-- The gateway: uploads songs, checks staff roles and player managers, issues and checks
-- player keys, serves media for queues and libraries, and refreshes queues on its clock.
-- `cosound-ml batch-predict` runs with its settings and places songs: it may change a song's
-- embedding, and no other column of it.
grant usage on schema cosound, extensions to cosound_gateway;
grant select, insert, delete on cosound.songs to cosound_gateway;
grant update (embedding) on cosound.songs to cosound_gateway;
grant select on cosound.players, cosound.player_library, cosound.player_queue to cosound_gateway;
grant select, insert, update, delete on cosound.player_keys to cosound_gateway;
grant execute on function cosound.has_role, cosound.manages_player to cosound_gateway;

-- Refreshing a queue reads tastes, sessions and history, and rewrites the queue: a system
-- task, run as its owner whoever triggers it, with a search path no caller can change.
alter function extensions.refresh_queue(bigint)
  security definer set search_path = pg_catalog, extensions, pg_temp;
alter function extensions.refresh_all_queues()
  security definer set search_path = pg_catalog, extensions, pg_temp;
revoke execute on function extensions.refresh_queue, extensions.refresh_all_queues from public;
grant execute on function extensions.refresh_queue, extensions.refresh_all_queues
  to cosound_gateway;
