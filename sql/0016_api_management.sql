-- Admins and managers: players, their libraries, check-in codes and keys, group strategies,
-- schedules, why each mix was made, who is checked in, staff roles, songs' details. An admin
-- manages everything; a manager the players they own. Songs are added by the gateway's
-- upload, which also stores the audio.

create view api.checkin_codes with (security_invoker = true) as
  select code, player_id, created_at from cosound.checkin_codes;
comment on view api.checkin_codes is 'Check-in codes of the players the caller manages.';
grant select on api.checkin_codes to authenticated;

create view api.player_library with (security_invoker = true) as
  select l.player_id, l.song_id, s.title, s.type
    from cosound.player_library l join cosound.songs s on s.id = l.song_id;
comment on view api.player_library is
  'The sounds each player may play (none = the whole catalogue): the caller''s managed players, or the device''s own.';
grant select on api.player_library to authenticated, player;

create view api.play_history with (security_invoker = true) as
  select id, player_id, song_id, played_at, ended_at from cosound.plays;
comment on view api.play_history is 'What players played: the caller''s managed players, or the device''s own.';
grant select on api.play_history to authenticated, player;

create view api.play_failures with (security_invoker = true) as
  select id, player_id, song_id, detail, failed_at from cosound.play_failures;
comment on view api.play_failures is 'Media the caller''s managed players could not play.';
grant select on api.play_failures to authenticated;

create view api.staff with (security_invoker = true) as
  select user_id, role, granted_at from cosound.staff;
comment on view api.staff is 'Staff roles: the caller''s own, or everyone''s for an admin.';
grant select on api.staff to authenticated;

-- When each player's device key was issued, never the key.
create view api.player_keys with (security_invoker = true) as
  select player_id, created_at as issued_at from cosound.player_keys;
comment on view api.player_keys is
  'When the device key of each player the caller manages was issued (none: the player has no key).';
grant select on api.player_keys to authenticated;

-- Why each recent mix was made, for the player's managers.
create view api.queue_versions with (security_invoker = true) as
  select player_id, version, made_at, trigger, strategy, listeners, layer_change,
         layer_out, layer_in
    from cosound.queue_versions;
comment on view api.queue_versions is
  'Why each recent queue version of the players the caller manages was made: the trigger, the group strategy, how many listeners counted, and how its layers changed.';
create view api.queue_version_items with (security_invoker = true) as
  select i.player_id, i.version, i.slot, i.song_id, s.title, i.role, i.gain, i.fit, i.penalty
    from cosound.queue_version_items i join cosound.songs s on s.id = i.song_id;
comment on view api.queue_version_items is
  'What each recent queue version of the players the caller manages held: each item''s gain, its fit to the room (cosine similarity) and its recency penalty.';
grant select on api.queue_versions, api.queue_version_items to authenticated;

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

create function api.create_player(name text, manager_email text default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
  room text := cosound.require_length(name, 'a player''s name', 1, 100);
  manager uuid;
  player cosound.players;
begin
  if cosound.has_role('admin', uid) then
    manager := case when manager_email is null then uid else cosound.user_by_email(manager_email) end;
  elsif cosound.has_role('manager', uid) then
    -- Compared with the caller's own address, never looked up: no answer says who has an account.
    if manager_email is not null and lower(btrim(manager_email)) is distinct from
       (select u.email from auth.users u where u.id = uid) then
      raise sqlstate '42501' using message = 'a manager creates players for themselves only';
    end if;
    manager := uid;
  else
    raise sqlstate '42501' using message = 'only an admin or a manager may create players';
  end if;
  insert into cosound.players (name, owner_id) values (room, manager)
  returning * into player;
  return json_build_object('id', player.id, 'name', player.name, 'manager_id', player.owner_id);
end
$$;
comment on function api.create_player is
  'Creates a player (a room''s device) managed by the caller, or by manager_email when an admin asks. Its key comes from the gateway.';

create function api.rename_player(player_id bigint, name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  room text;
begin
  perform cosound.require_manager_of(player_id);
  room := cosound.require_length(name, 'a player''s name', 1, 100);
  update cosound.players p set name = room where p.id = rename_player.player_id;
  return json_build_object('id', player_id, 'name', room);
end
$$;
comment on function api.rename_player is 'Renames a player the caller manages.';

create function api.set_player_manager(player_id bigint, manager_email text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  manager uuid;
begin
  perform cosound.require_admin();
  manager := cosound.user_by_email(manager_email);
  update cosound.players p set owner_id = manager where p.id = set_player_manager.player_id;
  if not found then
    perform cosound.refuse(404, format('no player with id %s', player_id));
  end if;
  return json_build_object('id', player_id, 'manager_id', manager);
end
$$;
comment on function api.set_player_manager is 'Hands a player to another manager (admins only).';

create function api.delete_player(player_id bigint) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  perform cosound.require_admin();
  delete from cosound.players p where p.id = delete_player.player_id;
  if not found then
    perform cosound.refuse(404, format('no player with id %s', player_id));
  end if;
  return json_build_object('deleted', player_id);
end
$$;
comment on function api.delete_player is 'Deletes a player with its library, codes, queue and history (admins only).';

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

create function api.set_player_strategy(player_id bigint, strategy text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  chosen cosound.group_strategy;
begin
  perform cosound.require_manager_of(player_id);
  if strategy is null or strategy not in (select unnest(enum_range(null::cosound.group_strategy))::text) then
    perform cosound.refuse(400, 'a group strategy is mean, least_misery or fair',
                           'strategy: ' || cosound.quoted(strategy));
  end if;
  chosen := strategy::cosound.group_strategy;
  update cosound.players p set strategy = chosen where p.id = set_player_strategy.player_id;
  -- The room hears the change now, not at the next scheduled refresh.
  perform extensions.refresh_queue(player_id);
  return json_build_object('id', player_id, 'strategy', chosen);
end
$$;
comment on function api.set_player_strategy is
  'Sets how the listeners at a player the caller manages count: mean (the group''s mean taste), least_misery (each sound judged by the listener present it suits least) or fair (those served worst so far in their session weigh more).';

create function api.add_to_library(player_id bigint, song_ids bigint[]) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  unknown bigint;
  added integer;
begin
  perform cosound.require_manager_of(player_id);
  perform cosound.require_song_ids(song_ids);
  select wanted.id into unknown from unnest(song_ids) as wanted (id)
   where not exists (select from cosound.songs s where s.id = wanted.id) limit 1;
  if unknown is not null then
    perform cosound.refuse(404, format('no song with id %s', unknown));
  end if;
  insert into cosound.player_library (player_id, song_id)
  select add_to_library.player_id, wanted.id from unnest(song_ids) as wanted (id)
  on conflict do nothing;
  get diagnostics added = row_count;
  perform pg_notify('cosound_activity', player_id::text);
  return json_build_object('player_id', player_id, 'added', added);
end
$$;
comment on function api.add_to_library is
  'Lets a player the caller manages play these songs (a library limits a player to its songs).';

create function api.remove_from_library(player_id bigint, song_ids bigint[]) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  removed integer;
begin
  perform cosound.require_manager_of(player_id);
  perform cosound.require_song_ids(song_ids);
  delete from cosound.player_library l
   where l.player_id = remove_from_library.player_id and l.song_id = any (song_ids);
  get diagnostics removed = row_count;
  perform pg_notify('cosound_activity', player_id::text);
  return json_build_object('player_id', player_id, 'removed', removed);
end
$$;
comment on function api.remove_from_library is 'Takes songs out of the library of a player the caller manages.';

create function api.new_checkin_code(player_id bigint) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  new_code text;
begin
  perform cosound.require_manager_of(player_id);
  -- 12 random hex digits (48 bits), in groups that are easy to type.
  new_code := upper(regexp_replace(left(replace(gen_random_uuid()::text, '-', ''), 12), '(.{4})(?!$)', '\1-', 'g'));
  insert into cosound.checkin_codes (code, player_id) values (new_code, new_checkin_code.player_id);
  return json_build_object('code', new_code, 'player_id', player_id);
end
$$;
comment on function api.new_checkin_code is
  'Makes a new check-in code for a player the caller manages (for its QR code or NFC tag).';

-- Only codes of the caller's own players are found, so a code of someone else's player gets
-- the same 404 as one that does not exist.
create function api.revoke_checkin_code(code text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
  wanted text := upper(btrim(code));
  player bigint;
begin
  delete from cosound.checkin_codes c
   where c.code = wanted and char_length(wanted) <= 32 and cosound.manages_player(c.player_id, uid)
  returning c.player_id into player;
  if player is null then
    perform cosound.refuse(404, 'no check-in code like this at a player you manage',
      cosound.quoted(code));
  end if;
  return json_build_object('revoked', wanted, 'player_id', player);
end
$$;
comment on function api.revoke_checkin_code is 'Stops a check-in code from working (its player''s admin or manager).';

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

-- Who is checked in at the players a manager runs, by their leaderboard name only: never an
-- id, an e-mail or a taste.
create function api.checked_in()
returns table (player_id bigint, display_name text, started_at timestamptz, expires_at timestamptz)
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
begin
  if not (cosound.has_role('admin', uid) or cosound.has_role('manager', uid)) then
    raise sqlstate '42501' using message = 'only an admin or a manager may see who is checked in';
  end if;
  return query
    select s.player_id, coalesce(p.display_name, 'anonymous listener'), s.started_at, s.expires_at
      from cosound.sessions s join cosound.profiles p on p.id = s.listener_id
     where s.ended_at is null and s.expires_at > now() and cosound.manages_player(s.player_id, uid)
     order by s.player_id, s.started_at;
end
$$;
comment on function api.checked_in is
  'Who is checked in now at the players the caller manages, by display name (filter with ?player_id=eq.N).';

create function api.grant_role(email text, role cosound.staff_role) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid;
begin
  perform cosound.require_admin();
  uid := cosound.user_by_email(email);
  insert into cosound.staff (user_id, role) values (uid, grant_role.role) on conflict do nothing;
  return json_build_object('user_id', uid, 'role', role);
end
$$;
comment on function api.grant_role is 'Makes a user an admin or a manager (admins only).';

create function api.revoke_role(email text, role cosound.staff_role) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid;
begin
  perform cosound.require_admin();
  uid := cosound.user_by_email(email);
  if revoke_role.role = 'admin' and uid = auth.uid() then
    perform cosound.refuse(409, 'an admin cannot revoke their own admin role');
  end if;
  delete from cosound.staff s where s.user_id = uid and s.role = revoke_role.role;
  return json_build_object('user_id', uid, 'role', role, 'revoked', found);
end
$$;
comment on function api.revoke_role is 'Takes a staff role from a user (admins only; never an admin''s own).';

-- Who holds which staff role, by e-mail address, so roles and players can be handed over by
-- name. A staff member whose profile row is missing (made by hand) is still staff: the list
-- shows them, or an admin could never revoke the role.
create function api.staff_members()
returns table (user_id uuid, email text, display_name text, role cosound.staff_role,
               granted_at timestamptz)
language plpgsql stable security definer set search_path = ''
as $$
begin
  perform cosound.require_admin();
  return query
    select s.user_id, u.email::text, p.display_name, s.role, s.granted_at
      from cosound.staff s
      join auth.users u on u.id = s.user_id
      left join cosound.profiles p on p.id = s.user_id
     order by u.email, s.role;
end
$$;
comment on function api.staff_members is 'Every staff role with its holder''s e-mail address (admins only).';

create function api.update_song(song_id bigint, title text default null,
                                type cosound.song_type default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  song cosound.songs;
begin
  perform cosound.require_admin();
  update cosound.songs s
     set title = coalesce(btrim(update_song.title), s.title), type = coalesce(update_song.type, s.type)
   where s.id = update_song.song_id
  returning * into song;
  if song.id is null then
    perform cosound.refuse(404, format('no song with id %s', song_id));
  end if;
  return json_build_object('id', song.id, 'title', song.title, 'type', song.type);
end
$$;
comment on function api.update_song is 'Corrects a song''s title or type (admins only).';

revoke execute on function api.create_player, api.rename_player, api.set_player_manager,
  api.delete_player, api.set_check_in_by_choice, api.set_player_strategy, api.add_to_library,
  api.remove_from_library, api.new_checkin_code, api.revoke_checkin_code,
  api.set_player_schedule, api.set_player_time_zone, api.checked_in, api.grant_role,
  api.revoke_role, api.staff_members, api.update_song from public;
grant execute on function api.create_player, api.rename_player, api.set_player_manager,
  api.delete_player, api.set_check_in_by_choice, api.set_player_strategy, api.add_to_library,
  api.remove_from_library, api.new_checkin_code, api.revoke_checkin_code,
  api.set_player_schedule, api.set_player_time_zone, api.checked_in, api.grant_role,
  api.revoke_role, api.staff_members, api.update_song to authenticated;
