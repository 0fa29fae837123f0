-- The benchmark's baseline for `api.rate` (`tests/benches/api.rs`): the rating as it was
-- before the once-a-minute pause between ratings of one song added a lock and a check. Loaded
-- into a throw-away stack by the benchmark only.
create function api.bench_rate_before_the_pause(rating integer, song_id bigint default null) returns json
language plpgsql volatile security definer set search_path = '' set random_page_cost = 1.1
as $$
declare
  listener uuid := auth.uid();
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
  -- A good rating inserts one row; when it inserts nothing (no account, not checked in and
  -- no song given, no such song, no embedding yet), refuse_rating says why.
  with here as (
    select s.player_id
      from cosound.sessions s
     where s.listener_id = listener and s.ended_at is null and s.expires_at > now()
  ), song as (
    select s.id, s.title
      from cosound.songs s
     where s.id = coalesce(bench_rate_before_the_pause.song_id,
                           (select q.song_id
                              from cosound.player_queue q
                             where q.player_id = (select player_id from here) and q.role = 'layer'
                             order by q.gain desc, q.slot
                             limit 1))
       and s.embedding is not null
  ), new_vote as (
    insert into cosound.votes as v (listener_id, song_id, player_id, rating)
    select p.id, song.id, (select player_id from here), bench_rate_before_the_pause.rating
      from cosound.profiles p, song
     where p.id = listener
    returning v.id, v.song_id, v.player_id
  )
  select v.id, v.song_id, v.player_id, song.title into vote from new_vote v, song;
  if not found then
    perform cosound.refuse_rating(listener, bench_rate_before_the_pause.song_id);
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
