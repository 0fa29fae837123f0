-- Answers that told a caller more than they may know, and text of any length.
-- * A check violation's detail is the whole row ("Failing row contains …": a too-long display
--   name echoed the caller's taste), so text is measured before it is written.
-- * revoke_checkin_code answered 403 for a real code of another's player and 404 for an
--   unknown one; create_player told a manager which e-mail addresses have accounts; the rooms
--   list showed every listener each room's manager (see 0031, which redefines that view).
-- * A list of song ids had no bound (a million took 1.9 s): at most 1000 per call.

-- The trimmed text, refused (400, naming the rule) unless it has shortest to longest characters.
create function cosound.require_length(given text, what text, shortest integer, longest integer)
returns text
language plpgsql immutable set search_path = ''
as $$
declare
  trimmed text := btrim(given);
begin
  if trimmed is null or char_length(trimmed) not between shortest and longest then
    perform cosound.refuse(400, format('%s is %s to %s characters', what, shortest, longest),
      format('%s characters given', coalesce(char_length(trimmed)::text, 'no')));
  end if;
  return trimmed;
end
$$;
revoke execute on function cosound.require_length from public;

-- E-mail addresses are at most 254 characters (RFC 5321), so none longer is looked up.
create or replace function cosound.user_by_email(email text) returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  address text := lower(cosound.require_length(email, 'an e-mail address', 3, 254));
  uid uuid;
begin
  select u.id into uid from auth.users u where u.email = address;
  if uid is null then
    perform cosound.refuse(404, 'no user with the e-mail address given', cosound.quoted(address));
  end if;
  return uid;
end
$$;

create or replace function api.create_player(name text, manager_email text default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
  room text := cosound.require_length(name, 'a player''s name', 1, 100);
  manager uuid;
  player cosound.players;
begin
  if cosound.has_role('admin', uid) then
    manager := case when manager_email is null then uid else cosound.user_by_email(manager_email) end;
  elsif cosound.has_role('manager', uid) then
    -- Compared with the caller's own address, never looked up: no answer says who has an account.
    if manager_email is not null and lower(btrim(manager_email)) is distinct from
       (select u.email from auth.users u where u.id = uid) then
      raise sqlstate '42501' using message = 'a manager creates players for themselves only';
    end if;
    manager := uid;
  else
    raise sqlstate '42501' using message = 'only an admin or a manager may create players';
  end if;
  insert into cosound.players (name, owner_id) values (room, manager)
  returning * into player;
  return json_build_object('id', player.id, 'name', player.name, 'manager_id', player.owner_id);
end
$$;

create or replace function api.rename_player(player_id bigint, name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  room text;
begin
  perform cosound.require_manager_of(player_id);
  room := cosound.require_length(name, 'a player''s name', 1, 100);
  update cosound.players p set name = room where p.id = rename_player.player_id;
  return json_build_object('id', player_id, 'name', room);
end
$$;

create or replace function api.set_display_name(display_name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  listener uuid := cosound.require_listener();
  shown text := nullif(btrim(display_name), '');
begin
  if shown is not null then
    shown := cosound.require_length(shown, 'display_name', 1, 40);
  end if;
  update cosound.profiles p set display_name = shown where p.id = listener;
  return json_build_object('display_name', shown);
end
$$;

-- Only codes of the caller's own players are found, so a code of someone else's player gets
-- the same 404 as one that does not exist.
create or replace function api.revoke_checkin_code(code text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
  wanted text := upper(btrim(code));
  player bigint;
begin
  delete from cosound.checkin_codes c
   where c.code = wanted and char_length(wanted) <= 32 and cosound.manages_player(c.player_id, uid)
  returning c.player_id into player;
  if player is null then
    perform cosound.refuse(404, 'no check-in code like this at a player you manage',
      cosound.quoted(code));
  end if;
  return json_build_object('revoked', wanted, 'player_id', player);
end
$$;

-- At most this many song ids in one call: a library changes by hand, a few at a time.
create function cosound.require_song_ids(song_ids bigint[]) returns bigint[]
language plpgsql immutable set search_path = ''
as $$
begin
  if coalesce(cardinality(song_ids), 0) = 0 or array_position(song_ids, null) is not null then
    raise sqlstate '22023' using message = 'song_ids is a list of song ids, with no nulls';
  end if;
  if cardinality(song_ids) > 1000 then
    perform cosound.refuse(400, 'song_ids holds at most 1000 ids per call',
      format('%s ids given', cardinality(song_ids)));
  end if;
  return song_ids;
end
$$;
revoke execute on function cosound.require_song_ids from public;

create or replace function api.add_to_library(player_id bigint, song_ids bigint[]) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  unknown bigint;
  added integer;
begin
  perform cosound.require_manager_of(player_id);
  perform cosound.require_song_ids(song_ids);
  select wanted.id into unknown from unnest(song_ids) as wanted (id)
   where not exists (select from cosound.songs s where s.id = wanted.id) limit 1;
  if unknown is not null then
    perform cosound.refuse(404, format('no song with id %s', unknown));
  end if;
  insert into cosound.player_library (player_id, song_id)
  select add_to_library.player_id, wanted.id from unnest(song_ids) as wanted (id)
  on conflict do nothing;
  get diagnostics added = row_count;
  perform pg_notify('cosound_activity', player_id::text);
  return json_build_object('player_id', player_id, 'added', added);
end
$$;

create or replace function api.remove_from_library(player_id bigint, song_ids bigint[]) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  removed integer;
begin
  perform cosound.require_manager_of(player_id);
  perform cosound.require_song_ids(song_ids);
  delete from cosound.player_library l
   where l.player_id = remove_from_library.player_id and l.song_id = any (song_ids);
  get diagnostics removed = row_count;
  perform pg_notify('cosound_activity', player_id::text);
  return json_build_object('player_id', player_id, 'removed', removed);
end
$$;
