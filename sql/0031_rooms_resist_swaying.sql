-- One account could sway any room: check in anywhere by choosing the room, from home, and rate
-- the same song over and over (150 ratings pulled the room's mix and topped the leaderboard).
-- * A room takes check-ins by its code (the QR code or NFC tag in the room) unless its manager
--   lets listeners check in by choosing it.
-- * A listener rates a song at most once a minute; the next rating of it within the minute is
--   refused (429, with the seconds to wait), so holding a key down teaches nothing.

alter table cosound.players
  add column check_in_by_choice boolean not null default false;
comment on column cosound.players.check_in_by_choice is
  'Whether listeners may check in by choosing the room; otherwise only its check-in code works.';

-- The rooms list says which rooms may be chosen; a room's manager is shown to those who manage
-- it (its manager, admins), no one else.
create or replace view api.players with (security_invoker = true) as
  select id, name, case when cosound.manages_player(id) then owner_id end as manager_id,
         last_seen_at, created_at,
         coalesce(last_seen_at > now() - interval '1 minute', false) as online,
         check_in_by_choice
    from cosound.players;

create function api.set_check_in_by_choice(player_id bigint, allowed boolean) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  perform cosound.require_manager_of(player_id);
  if allowed is null then
    raise sqlstate '22023' using message = 'allowed is true or false';
  end if;
  update cosound.players p set check_in_by_choice = allowed where p.id = set_check_in_by_choice.player_id;
  return json_build_object('id', player_id, 'check_in_by_choice', allowed);
end
$$;
comment on function api.set_check_in_by_choice is
  'Lets listeners check in at a player the caller manages by choosing it (true), or only by its code (false, the default).';
revoke execute on function api.set_check_in_by_choice from public;
grant execute on function api.set_check_in_by_choice to authenticated;

create or replace function api.check_in(player_id bigint default null, code text default null)
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  listener uuid := cosound.require_listener();
  player cosound.players;
  previous bigint;
  session cosound.sessions;
begin
  if (check_in.player_id is null) = (check_in.code is null) then
    raise sqlstate '22023' using message = 'give either player_id or code (not both)';
  end if;
  if check_in.code is not null then
    select p.* into player
      from cosound.checkin_codes c join cosound.players p on p.id = c.player_id
     where c.code = upper(cosound.require_length(check_in.code, 'a check-in code', 6, 32));
    if not found then
      perform cosound.refuse(404, 'no player has this check-in code', cosound.quoted(check_in.code));
    end if;
  else
    select * into player from cosound.players p where p.id = check_in.player_id;
    if not found then
      perform cosound.refuse(404, format('no player with id %s', check_in.player_id));
    end if;
    if not player.check_in_by_choice and not cosound.manages_player(player.id, listener) then
      perform cosound.refuse(403,
        format('player %s takes check-ins by its code only: scan or type the code in the room', player.id));
    end if;
  end if;
  previous := cosound.current_player(listener);
  session := cosound.check_in(listener, player.id);
  perform pg_notify('cosound_activity', player.id::text);
  if previous is distinct from player.id and previous is not null then
    perform pg_notify('cosound_activity', previous::text);
  end if;
  return json_build_object(
    'session_id', session.id, 'player_id', player.id, 'player_name', player.name,
    'started_at', session.started_at, 'expires_at', session.expires_at);
end
$$;
comment on function api.check_in is
  'Checks the signed-in listener in at a player for an hour, ending any other session: by the code on its QR/NFC tag, or by player_id where its manager allows choosing the room.';

-- How long a listener waits before rating the same song again.
create function cosound.rating_pause() returns interval
language sql immutable set search_path = ''
as $$ select interval '1 minute' $$;

create or replace function cosound.refuse_rating(listener uuid, song_id bigint) returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  here bigint;
  song bigint;
  placed boolean;
  last_rated timestamptz;
begin
  perform cosound.require_listener();
  here := cosound.current_player(listener);
  if refuse_rating.song_id is null then
    if here is null then
      perform cosound.refuse(409,
        'you are not checked in at a player: check in first, or give the song_id you rate');
    end if;
    select s.id, s.embedding is not null into song, placed
      from cosound.player_queue q join cosound.songs s on s.id = q.song_id
     where q.player_id = here and q.role = 'layer'
     order by q.gain desc, q.slot
     limit 1;
    if not found then
      perform cosound.refuse(409, 'nothing is playing at your player yet');
    end if;
  else
    select s.id, s.embedding is not null into song, placed
      from cosound.songs s where s.id = refuse_rating.song_id;
    if not found then
      perform cosound.refuse(404, format('no song with id %s', refuse_rating.song_id));
    end if;
  end if;
  if not placed then
    perform cosound.refuse(409,
      format('song %s has no embedding yet, so a rating cannot teach anything', song));
  end if;
  select max(v.created_at) into last_rated
    from cosound.votes v where v.listener_id = listener and v.song_id = song;
  if last_rated > now() - cosound.rating_pause() then
    perform cosound.refuse(429,
      format('you rated song %s less than a minute ago: a song counts once a minute', song),
      format('try again in %s s',
             ceil(extract(epoch from last_rated + cosound.rating_pause() - now()))));
  end if;
  raise 'a rating was refused for no known reason';
end
$$;

-- As 0025, with the pause between ratings of one song.
create or replace function api.rate(rating integer, song_id bigint default null) returns json
language plpgsql volatile security definer set search_path = '' set random_page_cost = 1.1
as $$
declare
  listener uuid := auth.uid();
  vote record;
  taste extensions.vector;
begin
  if listener is null then
    perform cosound.refuse(401, 'sign in first: this needs a listener''s token');
  end if;
  if rating is null or rating not between 1 and 5 then
    raise sqlstate '22023'
      using message = format('a rating is a whole number from 1 to 5, not %s', coalesce(rating::text, 'null'));
  end if;
  -- One listener's ratings take turns, so two at once cannot both pass the pause; the
  -- learning trigger serialises them on the listener's row anyway, so this costs no overlap.
  perform pg_advisory_xact_lock(hashtextextended('cosound.rate ' || listener::text, 0));
  -- A good rating inserts one row; when it inserts nothing (no account, not checked in and
  -- no song given, no such song, no embedding yet, rated within the pause), refuse_rating
  -- says why.
  with here as (
    select s.player_id
      from cosound.sessions s
     where s.listener_id = listener and s.ended_at is null and s.expires_at > now()
  ), song as (
    select s.id, s.title
      from cosound.songs s
     where s.id = coalesce(rate.song_id,
                           (select q.song_id
                              from cosound.player_queue q
                             where q.player_id = (select player_id from here) and q.role = 'layer'
                             order by q.gain desc, q.slot
                             limit 1))
       and s.embedding is not null
  ), new_vote as (
    insert into cosound.votes as v (listener_id, song_id, player_id, rating)
    select p.id, song.id, (select player_id from here), rate.rating
      from cosound.profiles p, song
     where p.id = listener
       and not exists (select from cosound.votes recent
                        where recent.listener_id = listener and recent.song_id = song.id
                          and recent.created_at > now() - cosound.rating_pause())
    returning v.id, v.song_id, v.player_id
  )
  select v.id, v.song_id, v.player_id, song.title into vote from new_vote v, song;
  if not found then
    perform cosound.refuse_rating(listener, rate.song_id);
  end if;
  -- The learning trigger has run by now: this is the taste the vote moved.
  select p.preference into taste from cosound.profiles p where p.id = listener;
  if vote.player_id is not null then
    perform pg_notify('cosound_activity', vote.player_id::text);
  end if;
  return json_build_object(
    'vote_id', vote.id, 'song_id', vote.song_id, 'title', vote.title, 'rating', rating,
    'player_id', vote.player_id, 'preference', taste);
end
$$;
