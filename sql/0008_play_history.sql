-- What each player played, as it reports it: the recency penalty's history.
create table cosound.plays (
  id bigint generated always as identity primary key,
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  played_at timestamptz not null default now()
    constraint played_at_is_a_real_time check (isfinite(played_at))
);

create index plays_by_song_latest_first on cosound.plays (song_id, played_at desc);
create index plays_by_player_latest_first on cosound.plays (player_id, played_at desc);

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
