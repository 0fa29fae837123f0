-- The listener's API: the catalogue and the rooms, check-in (at a player or by code) and
-- check-out, ratings, the taste vector and the survey, recommendations, the monthly
-- leaderboard, my stats and how close the mix is to me.
--
-- Reads are views that run with the caller's rights, so row-level security applies. Writes
-- are functions that run as their owner, check who asks first, and refuse with a message and
-- an HTTP status PostgREST understands (cosound.refuse; 22023 and 23514 → 400).
-- Every function notifies `cosound_activity` with the player whose listeners changed, so the
-- gateway refreshes that queue at once.

-- The player where the listener is checked in now, if any.
create function cosound.current_player(listener uuid) returns bigint
language sql stable security definer set search_path = ''
as $$
  select player_id from cosound.sessions
   where listener_id = listener and ended_at is null and expires_at > now()
$$;
revoke execute on function cosound.current_player from public;

create view api.songs with (security_invoker = true) as
  select id, type, title, duration_ms, embedding, loudness_gain_db, byte_size, content_sha256,
         content_type, last_played_at, created_at
    from cosound.songs;
comment on view api.songs is
  'The catalogue. embedding: weights for rain, sea_waves, thunderstorm, wind, crackling_fire, each in [0, 1].';
grant select on api.songs to authenticated, player;

-- The rooms, and which may be chosen; a room's manager is shown to those who manage it (its
-- manager, admins), no one else.
create view api.players with (security_invoker = true) as
  select id, name, case when cosound.manages_player(id) then owner_id end as manager_id,
         last_seen_at, created_at,
         coalesce(last_seen_at > now() - interval '1 minute', false) as online,
         check_in_by_choice, strategy, time_zone
    from cosound.players;
comment on view api.players is 'The rooms: every player, and whether its device was heard from in the last minute.';
grant select on api.players to authenticated;

create view api.my_profile with (security_invoker = true) as
  select p.id, p.display_name, p.preference, p.preference_updated_at, p.created_at,
         array(select s.role from cosound.staff s where s.user_id = p.id order by s.role) as roles,
         (select s.player_id from cosound.sessions s
           where s.listener_id = p.id and s.ended_at is null and s.expires_at > now()) as checked_in_at
    from cosound.profiles p
   where p.id = auth.uid();
comment on view api.my_profile is
  'The signed-in listener: taste vector (null until a rating or the survey), staff roles, where checked in.';
grant select on api.my_profile to authenticated;

create view api.my_votes with (security_invoker = true) as
  select v.id, v.song_id, s.title, v.rating, v.player_id, v.created_at
    from cosound.votes v join cosound.songs s on s.id = v.song_id
   where v.listener_id = auth.uid();
comment on view api.my_votes is 'The signed-in listener''s ratings.';
grant select on api.my_votes to authenticated;

create view api.my_sessions with (security_invoker = true) as
  select id, player_id, started_at, expires_at, ended_at,
         ended_at is null and expires_at > now() as active
    from cosound.sessions
   where listener_id = auth.uid();
comment on view api.my_sessions is 'The signed-in listener''s check-ins; at most one is active.';
grant select on api.my_sessions to authenticated;

create view api.my_stats with (security_invoker = true) as
  select
    (select count(*) from cosound.votes v where v.listener_id = me.id) as ratings,
    (select count(*) from cosound.votes v
      where v.listener_id = me.id and v.created_at >= date_trunc('month', now())) as ratings_this_month,
    (select count(*) from cosound.votes v where v.listener_id = me.id and v.rating >= 4) as positive,
    (select count(*) from cosound.votes v where v.listener_id = me.id and v.rating <= 2) as negative,
    (select round(avg(v.rating), 2) from cosound.votes v where v.listener_id = me.id) as mean_rating,
    (select count(*) from cosound.sessions s where s.listener_id = me.id) as check_ins,
    (select coalesce(round(sum(extract(epoch from
        least(coalesce(s.ended_at, now()), s.expires_at) - s.started_at)) / 60), 0)
       from cosound.sessions s where s.listener_id = me.id) as minutes_listened
  from (select auth.uid() as id) me
  where me.id is not null;
comment on view api.my_stats is
  'The signed-in listener''s numbers: ratings (positive = 4-5, negative = 1-2), check-ins, minutes listened.';
grant select on api.my_stats to authenticated;

create view api.my_share with (security_invoker = true) as
  select s.player_id, q.version, q.listeners, s.share as fit
    from cosound.sessions s
    left join cosound.queue_state q on q.player_id = s.player_id
   where s.listener_id = auth.uid() and s.ended_at is null and s.expires_at > now();
comment on view api.my_share is
  'How close the mix where the signed-in listener is checked in is to their taste (fit: the gain-weighted cosine similarity of its layers, -1 to 1; null until a mix was made with their taste), and how many listeners it was mixed for.';
grant select on api.my_share to authenticated;

create function api.check_in(player_id bigint default null, code text default null)
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

create function api.check_out() returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  listener uuid := cosound.require_listener();
  here bigint := cosound.current_player(listener);
begin
  perform cosound.check_out(listener);
  if here is not null then
    perform pg_notify('cosound_activity', here::text);
  end if;
  return json_build_object('checked_out', here is not null, 'player_id', here);
end
$$;
comment on function api.check_out is 'Ends the signed-in listener''s session at once; checked_out is false when there was none.';

-- How long a listener waits before rating the same song again: holding a key down, or
-- rating one song over and over, teaches nothing.
create function cosound.rating_pause() returns interval
language sql immutable set search_path = ''
as $$ select interval '1 minute' $$;

-- Why `api.rate` inserted nothing: raises the precise error (only failed ratings get here).
create function cosound.refuse_rating(listener uuid, song_id bigint) returns void
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
revoke execute on function cosound.refuse_rating from public;

-- A rating is the API's busiest write. The room lookup, the song (given, or the loudest layer
-- where the listener is checked in) and the insert are one statement. Its plans, and those of
-- the learning trigger it fires, are made with random_page_cost 1.1 (the usual value when the
-- data is in memory or on SSD): with PostgreSQL's default of 4, a catalogue of a few hundred
-- songs fits in so few pages that the planner prefers reading all of them to an index lookup.
create function api.rate(rating integer, song_id bigint default null) returns json
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
comment on function api.rate is
  'Rates a song 1-5 (by default what is playing where the listener is checked in) and returns the taste vector it moved.';

create function api.survey(
  rain real, sea_waves real, thunderstorm real, wind real, crackling_fire real
) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  listener uuid := cosound.require_listener();
  here bigint := cosound.current_player(listener);
  taste extensions.vector;
begin
  taste := extensions.set_preference_from_survey(
    listener, array[rain, sea_waves, thunderstorm, wind, crackling_fire]);
  if here is not null then
    perform pg_notify('cosound_activity', here::text);
  end if;
  return json_build_object('preference', taste);
end
$$;
comment on function api.survey is
  'Sets the signed-in listener''s taste from five numbers in [0, 1], one per sound class.';

create function api.set_display_name(display_name text) returns json
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
comment on function api.set_display_name is 'The name the leaderboard shows for the signed-in listener (1-40 characters; empty = anonymous).';

create function api.my_recommendations(k integer default 10)
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
comment on function api.my_recommendations is
  'The k sounds nearest the signed-in listener''s taste, with the recency penalty of the player where they are checked in.';

create function api.leaderboard(month date default null)
returns table (rank bigint, display_name text, is_me boolean, ratings bigint, positive bigint,
               negative bigint)
language sql stable security definer set search_path = ''
as $$
  with totals as (
    select v.listener_id, count(*) as ratings,
           count(*) filter (where v.rating >= 4) as positive,
           count(*) filter (where v.rating <= 2) as negative
      from cosound.votes v
     where v.created_at >= date_trunc('month', coalesce(month, now()::date))
       and v.created_at < date_trunc('month', coalesce(month, now()::date)) + interval '1 month'
     group by v.listener_id
  )
  select rank() over (order by t.ratings desc),
         coalesce(p.display_name, 'anonymous listener'),
         t.listener_id = auth.uid(),
         t.ratings, t.positive, t.negative
    from totals t join cosound.profiles p on p.id = t.listener_id
   order by t.ratings desc, t.listener_id
   limit 10
$$;
comment on function api.leaderboard is
  'The month''s (default: this month''s) top 10 listeners by number of ratings, with positive (4-5) and negative (1-2) counts.';

revoke execute on function api.check_in, api.check_out, api.rate, api.survey,
  api.set_display_name, api.my_recommendations, api.leaderboard from public;
grant execute on function api.check_in, api.check_out, api.rate, api.survey,
  api.set_display_name, api.my_recommendations, api.leaderboard to authenticated;
