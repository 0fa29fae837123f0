-- Schedules, quiet hours and volume caps per player, in the player's own time zone: time
-- blocks (ISO weekdays, from, to) that cap the volume, say whether instrumentals play, and may
-- hold a library of their own. The refresh honours the block in force (the extension's
-- refresh reads it; `why.rs` names a block change as the trigger) and the device applies the
-- cap it reads with its queue (`api.player_queue.volume_cap`).

-- A time zone PostgreSQL does not know would stop every refresh, so none is stored.
create function cosound.refuse_unknown_time_zone() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if not exists (select from pg_catalog.pg_timezone_names where name = new.time_zone) then
    perform cosound.refuse(400, 'a time zone is a name from the IANA database, such as Europe/Paris',
                           'time_zone: ' || cosound.quoted(new.time_zone));
  end if;
  return new;
end
$$;
create trigger a_player_s_time_zone_is_known
  before insert or update of time_zone on cosound.players
  for each row execute function cosound.refuse_unknown_time_zone();

create table cosound.schedule_blocks (
  id bigint generated always as identity primary key,
  player_id bigint not null references cosound.players (id) on delete cascade,
  days smallint[] not null
    constraint days_are_iso_weekdays
      check (cardinality(days) between 1 and 7 and days <@ '{1,2,3,4,5,6,7}'
             and array_position(days, null) is null),
  starts time not null,
  -- Up to 24:00, so a block may run to midnight; a block over midnight is two blocks.
  ends time not null constraint a_block_ends_after_it_starts check (starts < ends),
  volume_cap real not null default 1
    constraint a_volume_cap_is_from_0_to_1 check (volume_cap between 0 and 1),
  instrumentals boolean not null default true
);
create index schedule_blocks_by_player on cosound.schedule_blocks (player_id);
comment on table cosound.schedule_blocks is
  'A player''s time blocks: on these ISO weekdays (1 = Monday), from starts to ends in the player''s time zone, the volume is capped (0 to 1) and instrumentals play or not; a block with songs in schedule_block_library plays only those.';

create table cosound.schedule_block_library (
  block_id bigint not null references cosound.schedule_blocks (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  primary key (block_id, song_id)
);
create index schedule_block_library_by_song on cosound.schedule_block_library (song_id);

-- Two blocks in force at once would leave the refresh to guess, so none overlap on a day.
create function cosound.refuse_overlapping_blocks() returns trigger
language plpgsql set search_path = ''
as $$
declare
  other cosound.schedule_blocks;
begin
  select * into other from cosound.schedule_blocks b
   where b.player_id = new.player_id and b.id <> new.id and b.days && new.days
     and b.starts < new.ends and new.starts < b.ends
   limit 1;
  if found then
    perform cosound.refuse(400, 'time blocks on the same day may not overlap',
                           format('%s-%s on days %s overlaps %s-%s on days %s',
                                  to_char(new.starts, 'HH24:MI'), to_char(new.ends, 'HH24:MI'),
                                  new.days, to_char(other.starts, 'HH24:MI'),
                                  to_char(other.ends, 'HH24:MI'), other.days));
  end if;
  return null;
end
$$;
create constraint trigger time_blocks_do_not_overlap
  after insert or update on cosound.schedule_blocks
  for each row execute function cosound.refuse_overlapping_blocks();
