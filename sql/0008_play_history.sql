-- What each player played, as it reports it: the recency penalty's history, and the media a
-- device could not play.
create table cosound.plays (
  id bigint generated always as identity primary key,
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  played_at timestamptz not null default now()
    constraint played_at_is_a_real_time check (isfinite(played_at)),
  -- When the play ended (null while it plays, or when the device never said).
  ended_at timestamptz,
  constraint ends_after_it_starts check (ended_at >= played_at)
);

create index plays_by_song_latest_first on cosound.plays (song_id, played_at desc);
create index plays_by_player_latest_first on cosound.plays (player_id, played_at desc);
create index plays_by_player_and_song on cosound.plays (player_id, song_id, played_at desc);

-- Plays count where they happened: each player's latest play of each song is that player's
-- recency penalty, so one room's plays (or a device's forged report) never push a song down in
-- another. songs.last_played_at keeps the same for the whole catalogue, for its readers.
create table cosound.last_plays (
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  played_at timestamptz not null,
  primary key (player_id, song_id)
);
comment on table cosound.last_plays is
  'Each player''s latest reported play of each song: the recency penalty of that player''s rankings.';

-- Media a device could not play (corrupt or missing), for its managers to look into.
create table cosound.play_failures (
  id bigint generated always as identity primary key,
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  detail text not null default ''
    constraint detail_is_at_most_1000_characters check (char_length(detail) <= 1000),
  failed_at timestamptz not null default now()
);
create index play_failures_by_player on cosound.play_failures (player_id, failed_at desc);

-- songs.last_played_at = max(played_at) of the song's plays, kept current per statement.
create function cosound.note_new_plays() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- Locks in id order, so two reports touching the same songs cannot deadlock.
  perform from cosound.songs s where s.id in (select song_id from new_plays)
    order by s.id for no key update;
  update cosound.songs s
    set last_played_at = greatest(s.last_played_at, latest.played_at)
    from (select song_id, max(played_at) as played_at from new_plays group by song_id) latest
    where s.id = latest.song_id;
  return null;
end
$$;

-- After plays are edited or removed, the touched songs' latest play is looked up again.
create function cosound.recount_last_plays() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  touched bigint[];
begin
  if tg_op = 'UPDATE' then
    select array_agg(song_id) into touched
      from (select song_id from old_plays union select song_id from new_plays) t;
  else
    select array_agg(distinct song_id) into touched from old_plays;
  end if;
  perform from cosound.songs s where s.id = any (touched) order by s.id for no key update;
  update cosound.songs s
    set last_played_at = (select max(p.played_at) from cosound.plays p where p.song_id = s.id)
    where s.id = any (touched);
  return null;
end
$$;

create trigger plays_update_last_played
  after insert on cosound.plays
  referencing new table as new_plays
  for each statement execute function cosound.note_new_plays();

create trigger plays_edited_recount_last_played
  after update on cosound.plays
  referencing old table as old_plays new table as new_plays
  for each statement execute function cosound.recount_last_plays();

create trigger plays_deleted_recount_last_played
  after delete on cosound.plays
  referencing old table as old_plays
  for each statement execute function cosound.recount_last_plays();

-- cosound.last_plays, kept current per statement in the same way.
create function cosound.note_new_plays_per_player() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- In key order, so two reports touching the same pairs cannot deadlock.
  insert into cosound.last_plays as lp (player_id, song_id, played_at)
  select player_id, song_id, max(played_at) from new_plays
   group by player_id, song_id
   order by player_id, song_id
  on conflict (player_id, song_id)
  do update set played_at = greatest(lp.played_at, excluded.played_at);
  return null;
end
$$;

-- The latest play of each touched pair, looked up again: kept where some play is left.
create function cosound.recount_last_plays_of(touched jsonb) returns void
language sql
set search_path = ''
as $$
  with pairs as (
    select distinct (pair ->> 0)::bigint as player_id, (pair ->> 1)::bigint as song_id
      from jsonb_array_elements(touched) pair
  ), latest as (
    select t.player_id, t.song_id,
           (select max(p.played_at) from cosound.plays p
             where p.player_id = t.player_id and p.song_id = t.song_id) as played_at
      from pairs t
  ), kept as (
    insert into cosound.last_plays (player_id, song_id, played_at)
    select player_id, song_id, played_at from latest where played_at is not null
     order by player_id, song_id
    on conflict (player_id, song_id) do update set played_at = excluded.played_at
  )
  delete from cosound.last_plays lp using latest l
   where lp.player_id = l.player_id and lp.song_id = l.song_id and l.played_at is null
$$;

-- After plays are edited or removed.
create function cosound.recount_last_plays_per_player() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' then
    perform cosound.recount_last_plays_of((
      select jsonb_agg(jsonb_build_array(player_id, song_id))
        from (select player_id, song_id from old_plays
              union select player_id, song_id from new_plays) t));
  else
    perform cosound.recount_last_plays_of(
      (select jsonb_agg(jsonb_build_array(player_id, song_id)) from old_plays));
  end if;
  return null;
end
$$;

create trigger plays_update_last_plays_per_player
  after insert on cosound.plays
  referencing new table as new_plays
  for each statement execute function cosound.note_new_plays_per_player();

create trigger plays_edited_recount_last_plays_per_player
  after update on cosound.plays
  referencing old table as old_plays new table as new_plays
  for each statement execute function cosound.recount_last_plays_per_player();

create trigger plays_deleted_recount_last_plays_per_player
  after delete on cosound.plays
  referencing old table as old_plays
  for each statement execute function cosound.recount_last_plays_per_player();
