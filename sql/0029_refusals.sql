-- Every refusal that names its own HTTP status goes through cosound.refuse.
--
-- PostgREST 12 writes the message of a `PTnnn` error into the HTTP status line. A message that
-- carried the caller's input let anyone without an account write headers and a body of their
-- choice into the response (an e-mail address of "a\r\nSet-Cookie: …"), or a status line of
-- any length. So: a refusal's message is fixed words and numbers, with nothing but printable
-- ASCII, and what the caller sent goes in `detail`, which PostgREST sends JSON-escaped in the
-- body. refuse enforces that, and a test checks that no other function raises `PTnnn` itself.
create function cosound.refuse(status integer, message text, detail text default null,
                               hint text default null) returns void
language plpgsql volatile set search_path = ''
as $$
declare
  safe text;
begin
  if status is null or status not between 400 and 599 then
    raise exception 'cosound.refuse needs an HTTP error status (400-599), not %', status;
  end if;
  safe := left(regexp_replace(message, '[^\x20-\x7e]+', ' ', 'g'), 200);
  -- RAISE takes no null option, and PostgREST sends an absent detail or hint as null.
  if detail is null and hint is null then
    raise exception using errcode = 'PT' || status, message = safe;
  elsif hint is null then
    raise exception using errcode = 'PT' || status, message = safe, detail = left(detail, 300);
  elsif detail is null then
    raise exception using errcode = 'PT' || status, message = safe, hint = hint;
  else
    raise exception using errcode = 'PT' || status, message = safe, detail = left(detail, 300),
      hint = hint;
  end if;
end
$$;
comment on function cosound.refuse is
  'Raises the API refusal with this HTTP status: the message (status-line safe: printable ASCII, at most 200 characters) and what the caller sent, in detail.';

-- What the caller sent, for a refusal's detail: quoted, and cut when long.
create function cosound.quoted(given text) returns text
language sql immutable set search_path = ''
as $$
  select case
    when given is null then 'null'
    when char_length(given) <= 80 then format('%L', given)
    else format('%L… (%s characters)', left(given, 80), char_length(given))
  end
$$;

revoke execute on function cosound.refuse, cosound.quoted from public;

create or replace function cosound.require_listener() returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid := auth.uid();
begin
  if uid is null then
    perform cosound.refuse(401, 'sign in first: this needs a listener''s token');
  end if;
  if not exists (select from cosound.profiles where id = uid) then
    perform cosound.refuse(401, 'this token''s user has no account here');
  end if;
  return uid;
end
$$;

create or replace function cosound.require_player() returns bigint
language plpgsql stable security definer set search_path = ''
as $$
declare
  device bigint := cosound.request_player_id();
begin
  if device is null then
    raise sqlstate '42501' using message = 'only a player device may do this (a player token from the gateway)';
  end if;
  if not exists (select from cosound.players where id = device) then
    perform cosound.refuse(404, format('player %s no longer exists', device));
  end if;
  return device;
end
$$;

create or replace function cosound.require_manager_of(player bigint) returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
begin
  if not exists (select from cosound.players where id = player) then
    perform cosound.refuse(404, format('no player with id %s', coalesce(player::text, 'null')));
  end if;
  if not cosound.manages_player(player, uid) then
    raise sqlstate '42501' using message = format('only an admin or the manager of player %s may do this', player);
  end if;
  return uid;
end
$$;

create or replace function api.my_recommendations(k integer default 10)
returns table (song_id bigint, title text, type cosound.song_type, distance double precision,
               adjusted_distance double precision)
language plpgsql stable security definer set search_path = ''
as $$
declare
  listener uuid := cosound.require_listener();
  taste extensions.vector;
begin
  if k is null or k not between 1 and 100 then
    raise sqlstate '22023' using message = format('k is how many songs, from 1 to 100, not %s', coalesce(k::text, 'null'));
  end if;
  select p.preference into taste from cosound.profiles p where p.id = listener;
  if taste is null then
    perform cosound.refuse(409, 'no taste yet: rate a few sounds or take the survey first');
  end if;
  -- Where the listener is checked in, that player's library and history count.
  return query
    select r.song_id, s.title, s.type, r.distance, r.adjusted_distance
      from extensions.recommend_with_penalty(taste, k, cosound.current_player(listener)) r
      join cosound.songs s on s.id = r.song_id
     order by r.adjusted_distance, r.song_id;
end
$$;

create or replace function api.set_player_manager(player_id bigint, manager_email text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  manager uuid;
begin
  perform cosound.require_admin();
  manager := cosound.user_by_email(manager_email);
  update cosound.players p set owner_id = manager where p.id = set_player_manager.player_id;
  if not found then
    perform cosound.refuse(404, format('no player with id %s', player_id));
  end if;
  return json_build_object('id', player_id, 'manager_id', manager);
end
$$;

create or replace function api.delete_player(player_id bigint) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  perform cosound.require_admin();
  delete from cosound.players p where p.id = delete_player.player_id;
  if not found then
    perform cosound.refuse(404, format('no player with id %s', player_id));
  end if;
  return json_build_object('deleted', player_id);
end
$$;

create or replace function api.update_song(song_id bigint, title text default null,
                                           type cosound.song_type default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  song cosound.songs;
begin
  perform cosound.require_admin();
  update cosound.songs s
     set title = coalesce(btrim(update_song.title), s.title), type = coalesce(update_song.type, s.type)
   where s.id = update_song.song_id
  returning * into song;
  if song.id is null then
    perform cosound.refuse(404, format('no song with id %s', song_id));
  end if;
  return json_build_object('id', song.id, 'title', song.title, 'type', song.type);
end
$$;

create or replace function api.revoke_role(email text, role cosound.staff_role) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid;
begin
  perform cosound.require_admin();
  uid := cosound.user_by_email(email);
  if revoke_role.role = 'admin' and uid = auth.uid() then
    perform cosound.refuse(409, 'an admin cannot revoke their own admin role');
  end if;
  delete from cosound.staff s where s.user_id = uid and s.role = revoke_role.role;
  return json_build_object('user_id', uid, 'role', role, 'revoked', found);
end
$$;
