-- Plays count where they happened. The recency penalty read one `songs.last_played_at` for
-- every room, so one room's plays, or a device's forged report, pushed a song down in all of
-- them; and a device could report any song at all.
-- * cosound.last_plays keeps each player's latest play of each song, as songs.last_played_at
--   does for the whole catalogue (which stays, for the catalogue's readers), and the penalty
--   reads it for the player the ranking is for.
-- * A device reports only songs it was given: in its queue or its library, or (for `end`) a
--   song it has reported started.

create table cosound.last_plays (
  player_id bigint not null references cosound.players (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  played_at timestamptz not null,
  primary key (player_id, song_id)
);
comment on table cosound.last_plays is
  'Each player''s latest reported play of each song: the recency penalty of that player''s rankings.';
create index plays_by_player_and_song on cosound.plays (player_id, song_id, played_at desc);

insert into cosound.last_plays (player_id, song_id, played_at)
select player_id, song_id, max(played_at) from cosound.plays group by player_id, song_id;

-- Only the functions' owner reads or writes it: row-level security with no policy.
alter table cosound.last_plays enable row level security;
revoke all on cosound.last_plays from public, anon, authenticated, service_role;

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

create or replace function api.report_play(song_id bigint, event text, detail text default null)
returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  device bigint := cosound.require_player();
  play bigint;
begin
  if not exists (select from cosound.songs s where s.id = report_play.song_id) then
    perform cosound.refuse(404, format('no song with id %s', report_play.song_id));
  end if;
  if event in ('start', 'failed')
     and not exists (select from cosound.player_queue q
                      where q.player_id = device and q.song_id = report_play.song_id)
     and not exists (select from cosound.player_library l
                      where l.player_id = device and l.song_id = report_play.song_id) then
    perform cosound.refuse(409,
      format('song %s is neither in this player''s queue nor in its library', report_play.song_id));
  end if;
  case event
    when 'start' then
      insert into cosound.plays (player_id, song_id) values (device, report_play.song_id)
      returning id into play;
    when 'end' then
      update cosound.plays p set ended_at = now()
       where p.id = (select p2.id from cosound.plays p2
                      where p2.player_id = device and p2.song_id = report_play.song_id
                        and p2.ended_at is null
                      order by p2.played_at desc limit 1)
      returning p.id into play;
      if play is null then
        perform cosound.refuse(409, format('song %s was not reported as started', report_play.song_id));
      end if;
    when 'failed' then
      insert into cosound.play_failures (player_id, song_id, detail)
      values (device, report_play.song_id, left(coalesce(detail, ''), 1000));
    else
      raise sqlstate '22023'
        using message = format('event is start, end or failed, not %s', cosound.quoted(event));
  end case;
  return json_build_object('player_id', device, 'song_id', report_play.song_id, 'event', event, 'play_id', play);
end
$$;
comment on function api.report_play is
  'A player device reports a song of its queue or library it started, ended or could not play (detail says why); starts feed that player''s recency penalty.';
