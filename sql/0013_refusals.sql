-- How the API refuses, and the checks every API function starts with: who is asking (a
-- listener, a device, a player's manager, an admin) and whether what they sent is in bounds.
--
-- PostgREST writes the message of a `PTnnn` error into the HTTP status line. A message that
-- carried the caller's input would let anyone without an account write headers and a body of
-- their choice into the response (an e-mail address of "a\r\nSet-Cookie: …"), or a status line
-- of any length. So every refusal that names its own HTTP status goes through cosound.refuse:
-- its message is fixed words and numbers, with nothing but printable ASCII, and what the caller
-- sent goes in `detail`, which PostgREST sends JSON-escaped in the body. A test checks that no
-- other function raises `PTnnn` itself.
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

-- The trimmed text, refused (400, naming the rule) unless it has shortest to longest
-- characters. Text is measured before it is written: a check violation's detail is the whole
-- row ("Failing row contains …"), which would echo the rest of it to the caller.
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

-- The caller's user id, refusing a request without a signed-in user who has an account.
create function cosound.require_listener() returns uuid
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

-- The device making the request, refusing anyone else.
create function cosound.require_player() returns bigint
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

-- Refuses callers who may not manage this player; names the player when it does not exist.
create function cosound.require_manager_of(player bigint) returns uuid
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

create function cosound.require_admin() returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
begin
  if not cosound.has_role('admin', uid) then
    raise sqlstate '42501' using message = 'only an admin may do this';
  end if;
  return uid;
end
$$;

-- A user named by e-mail address, for granting roles and assigning managers. Addresses are at
-- most 254 characters (RFC 5321), so none longer is looked up.
create function cosound.user_by_email(email text) returns uuid
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

revoke execute on function cosound.require_listener, cosound.require_player,
  cosound.require_manager_of, cosound.require_admin, cosound.user_by_email from public;
