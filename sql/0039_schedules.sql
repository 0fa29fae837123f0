-- Schedules, quiet hours and volume caps per player, in the player's own time zone: time
-- blocks (ISO weekdays, from, to) that cap the volume, say whether instrumentals play, and may
-- hold a library of their own. The refresh honours the block in force (the extension's
-- refresh reads it; `why.rs` names a block change as the trigger) and the device applies the
-- cap it reads with its queue (`api.player_queue.volume_cap`).
alter table cosound.players
  add column time_zone text not null default 'UTC';
comment on column cosound.players.time_zone is
  'The IANA time zone the player''s schedule is read in (Europe/Paris, America/New_York, UTC).';

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

alter table cosound.schedule_blocks enable row level security;
alter table cosound.schedule_block_library enable row level security;
grant select on cosound.schedule_blocks, cosound.schedule_block_library to authenticated;
create policy blocks_of_managed_players on cosound.schedule_blocks
  for select to authenticated using (cosound.manages_player(player_id));
create policy block_libraries_of_managed_players on cosound.schedule_block_library
  for select to authenticated
  using (exists (select from cosound.schedule_blocks b
                  where b.id = block_id and cosound.manages_player(b.player_id)));

-- The block the last refresh honoured, and the cap the device applies.
alter table cosound.queue_state
  add column block_id bigint references cosound.schedule_blocks (id) on delete set null,
  add column volume_cap real not null default 1
    constraint a_volume_cap_is_from_0_to_1 check (volume_cap between 0 and 1);
grant select (block_id, volume_cap) on cosound.queue_state to authenticated, player;

alter type cosound.queue_trigger add value 'schedule' after 'strategy';

create or replace view api.player_queue with (security_invoker = true) as
  select q.player_id, q.slot, q.song_id, q.role, q.gain, s.title, s.duration_ms, s.byte_size,
         s.content_sha256, s.content_type, st.version, st.volume_cap
    from cosound.player_queue q
    join cosound.songs s on s.id = q.song_id
    join cosound.queue_state st on st.player_id = q.player_id;
comment on view api.player_queue is
  'What a player plays: its soundscape layers (looped) and next instrumental, each at a linear gain that includes the song''s loudness gain; version changes with every change; volume_cap (0 to 1) is the most of full volume the device may play now, from the schedule.';

create or replace view api.players with (security_invoker = true) as
  select id, name, case when cosound.manages_player(id) then owner_id end as manager_id,
         last_seen_at, created_at,
         coalesce(last_seen_at > now() - interval '1 minute', false) as online,
         check_in_by_choice, strategy, time_zone
    from cosound.players;

create view api.player_schedule with (security_invoker = true) as
  select b.player_id, b.id, b.days, to_char(b.starts, 'HH24:MI') as "from",
         to_char(b.ends, 'HH24:MI') as "to", b.volume_cap, b.instrumentals,
         coalesce((select array_agg(l.song_id order by l.song_id)
                     from cosound.schedule_block_library l where l.block_id = b.id),
                  '{}') as library
    from cosound.schedule_blocks b;
comment on view api.player_schedule is
  'The time blocks of the players the caller manages: ISO weekdays (1 = Monday), from and to (HH:MM in the player''s time zone), the volume cap, whether instrumentals play, and the block''s own library (empty: the player''s).';
grant select on api.player_schedule to authenticated;

-- A time of day from a block's JSON, or a 400 naming the block.
create function cosound.block_time(block jsonb, field text, n bigint) returns time
language plpgsql immutable set search_path = ''
as $$
begin
  if jsonb_typeof(block -> field) is distinct from 'string' then
    perform cosound.refuse(400, 'a block has a from and a to, each a time of day as HH:MM',
                           format('block %s: %s %s', n, field, coalesce((block -> field)::text, 'missing')));
  end if;
  return (block ->> field)::time;
exception when invalid_datetime_format or datetime_field_overflow then
  perform cosound.refuse(400, 'a block has a from and a to, each a time of day as HH:MM',
                         format('block %s: %s %s', n, field, (block -> field)::text));
end
$$;
revoke execute on function cosound.block_time from public;

create function api.set_player_schedule(player_id bigint, blocks jsonb) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  block jsonb;
  n bigint;
  made bigint;
  day_list smallint[];
  cap real;
  songs bigint[];
  missing bigint;
begin
  perform cosound.require_manager_of(player_id);
  if jsonb_typeof(blocks) is distinct from 'array' then
    perform cosound.refuse(400, 'a schedule is a JSON array of time blocks',
                           'blocks: ' || cosound.quoted(blocks::text));
  end if;
  if jsonb_array_length(blocks) > 100 then
    perform cosound.refuse(400, 'a schedule has at most 100 time blocks',
                           format('%s blocks', jsonb_array_length(blocks)));
  end if;
  -- Blocks are replaced together; the player's row lock keeps two managers' saves apart.
  perform from cosound.players p where p.id = set_player_schedule.player_id for update;
  delete from cosound.schedule_blocks b where b.player_id = set_player_schedule.player_id;
  for block, n in select value, ordinality from jsonb_array_elements(blocks) with ordinality loop
    if jsonb_typeof(block) is distinct from 'object' then
      perform cosound.refuse(400, 'a time block is an object with days, from and to',
                             format('block %s: %s', n, cosound.quoted(block::text)));
    end if;
    if jsonb_typeof(block -> 'days') is distinct from 'array'
       or jsonb_array_length(block -> 'days') not between 1 and 7
       or exists (select from jsonb_array_elements(block -> 'days') d
                   where jsonb_typeof(d) <> 'number' or d::text !~ '^[1-7]$') then
      perform cosound.refuse(400, 'a block''s days are ISO weekdays, 1 (Monday) to 7 (Sunday)',
                             format('block %s: days %s', n, coalesce((block -> 'days')::text, 'missing')));
    end if;
    select array_agg(distinct d::text::smallint order by d::text::smallint) into day_list
      from jsonb_array_elements(block -> 'days') d;
    if cosound.block_time(block, 'from', n) >= cosound.block_time(block, 'to', n) then
      perform cosound.refuse(400, 'a block ends after it starts (a block over midnight is two blocks)',
                             format('block %s: from %s to %s', n, block ->> 'from', block ->> 'to'));
    end if;
    cap := 1;
    if block ? 'volume_cap' then
      if jsonb_typeof(block -> 'volume_cap') is distinct from 'number'
         or (block ->> 'volume_cap')::float8 not between 0 and 1 then
        perform cosound.refuse(400, 'a volume cap is a number from 0 to 1',
                               format('block %s: volume_cap %s', n, (block -> 'volume_cap')::text));
      end if;
      cap := (block ->> 'volume_cap')::real;
    end if;
    if block ? 'instrumentals' and jsonb_typeof(block -> 'instrumentals') is distinct from 'boolean' then
      perform cosound.refuse(400, 'instrumentals is true or false',
                             format('block %s: instrumentals %s', n, (block -> 'instrumentals')::text));
    end if;
    songs := '{}';
    if block ? 'library' then
      if jsonb_typeof(block -> 'library') is distinct from 'array'
         or exists (select from jsonb_array_elements(block -> 'library') s
                     where jsonb_typeof(s) <> 'number' or s::text !~ '^[0-9]{1,18}$') then
        perform cosound.refuse(400, 'a block''s library is an array of song ids',
                               format('block %s: library %s', n, cosound.quoted((block -> 'library')::text)));
      end if;
      if jsonb_array_length(block -> 'library') > 1000 then
        perform cosound.refuse(400, 'a block''s library holds at most 1000 songs',
                               format('block %s: %s songs', n, jsonb_array_length(block -> 'library')));
      end if;
      select coalesce(array_agg(distinct s::text::bigint), '{}') into songs
        from jsonb_array_elements(block -> 'library') s;
      select s into missing from unnest(songs) s
       where not exists (select from cosound.songs x where x.id = s) limit 1;
      if missing is not null then
        perform cosound.refuse(404, format('no song with id %s', missing));
      end if;
    end if;
    insert into cosound.schedule_blocks (player_id, days, starts, ends, volume_cap, instrumentals)
    values (set_player_schedule.player_id, day_list, cosound.block_time(block, 'from', n),
            cosound.block_time(block, 'to', n), cap,
            coalesce((block ->> 'instrumentals')::boolean, true))
    returning id into made;
    insert into cosound.schedule_block_library (block_id, song_id)
    select made, unnest(songs);
  end loop;
  -- The room hears a block that is in force now at once.
  perform extensions.refresh_queue(player_id);
  return json_build_object('player_id', player_id, 'blocks',
    (select count(*) from cosound.schedule_blocks b where b.player_id = set_player_schedule.player_id));
end
$$;
comment on function api.set_player_schedule is
  'Replaces the time blocks of a player the caller manages: an array of {days: ISO weekdays 1-7, from: "HH:MM", to: "HH:MM" (after from; up to "24:00"), volume_cap: 0-1 (default 1), instrumentals: true/false (default true), library: song ids (default none: the player''s)}, in the player''s time zone; blocks on the same day may not overlap. [] clears it.';

create function api.set_player_time_zone(player_id bigint, time_zone text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  perform cosound.require_manager_of(player_id);
  update cosound.players p set time_zone = set_player_time_zone.time_zone
   where p.id = set_player_time_zone.player_id;
  perform extensions.refresh_queue(player_id);
  return json_build_object('id', player_id, 'time_zone', time_zone);
end
$$;
comment on function api.set_player_time_zone is
  'Sets the IANA time zone (Europe/Paris, UTC) a player the caller manages reads its schedule in.';
revoke execute on function api.set_player_schedule, api.set_player_time_zone from public;
grant execute on function api.set_player_schedule, api.set_player_time_zone to authenticated;
