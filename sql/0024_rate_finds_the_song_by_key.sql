-- A rating finds its song by primary key. In 0012 the song was joined on
-- coalesce(given id, loudest layer of the listener's room), an expression the planner cannot
-- use as an index key in the cached plan, so every rating scanned the whole catalogue twice:
-- the busiest write of the API grew with the catalogue. Now the listener's room and the song
-- are looked up first, each through its index, and the vote is inserted from those.
create or replace function api.rate(rating integer, song_id bigint default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  listener uuid := auth.uid();
  here bigint;
  song bigint := rate.song_id;
  vote record;
  taste extensions.vector;
begin
  if listener is null then
    raise sqlstate 'PT401' using message = 'sign in first: this needs a listener''s token';
  end if;
  if rating is null or rating not between 1 and 5 then
    raise sqlstate '22023'
      using message = format('a rating is a whole number from 1 to 5, not %s', coalesce(rating::text, 'null'));
  end if;
  -- Where the listener is checked in and, unless a song was given, the loudest layer there.
  select s.player_id into here
    from cosound.sessions s
   where s.listener_id = listener and s.ended_at is null and s.expires_at > now();
  if song is null and here is not null then
    select q.song_id into song
      from cosound.player_queue q
     where q.player_id = here and q.role = 'layer'
     order by q.gain desc, q.slot
     limit 1;
  end if;
  -- A good rating inserts one row; when it inserts nothing (no account, no such song, no
  -- embedding yet), refuse_rating says why.
  with new_vote as (
    insert into cosound.votes as v (listener_id, song_id, player_id, rating)
    select p.id, s.id, here, rate.rating
      from cosound.profiles p, cosound.songs s
     where p.id = listener and s.id = song and s.embedding is not null
    returning v.id, v.song_id, v.player_id
  )
  select v.id, v.song_id, v.player_id, s.title into vote
    from new_vote v join cosound.songs s on s.id = song;
  if not found then
    perform cosound.refuse_rating(listener, rate.song_id);
  end if;
  select p.preference into taste from cosound.profiles p where p.id = listener;
  if here is not null then
    perform pg_notify('cosound_activity', here::text);
  end if;
  return json_build_object(
    'vote_id', vote.id, 'song_id', vote.song_id, 'title', vote.title, 'rating', rating,
    'player_id', vote.player_id, 'preference', taste);
end
$$;
comment on function api.rate is
  'Rates a song 1-5 (by default what is playing where the listener is checked in) and returns the taste vector it moved.';
