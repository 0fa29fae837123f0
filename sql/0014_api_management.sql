-- Admins and managers: players, their libraries and check-in codes, staff roles, songs'
-- details. An admin manages everything; a manager the players they own. Songs are added by
-- the gateway's upload, which also stores the audio.

-- Refuses callers who may not manage this player; names the player when it does not exist.
create function cosound.require_manager_of(player bigint) returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
begin
  if not exists (select from cosound.players where id = player) then
    raise sqlstate 'PT404' using message = format('no player with id %s', coalesce(player::text, 'null'));
  end if;
  if not cosound.manages_player(player, uid) then
    raise sqlstate '42501' using message = format('only an admin or the manager of player %s may do this', player);
  end if;
  return uid;
end
$$;

create function cosound.require_admin() returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
begin
  if not cosound.has_role('admin', uid) then
    raise sqlstate '42501' using message = 'only an admin may do this';
  end if;
  return uid;
end
$$;

-- A user named by e-mail address, for granting roles and assigning managers.
create function cosound.user_by_email(email text) returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  uid uuid;
begin
  select u.id into uid from auth.users u where u.email = lower(btrim(user_by_email.email));
  if uid is null then
    raise sqlstate 'PT404' using message = format('no user with the e-mail address %s', coalesce(email, 'null'));
  end if;
  return uid;
end
$$;

revoke execute on function cosound.require_manager_of, cosound.require_admin,
  cosound.user_by_email from public;

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

create function api.create_player(name text, manager_email text default null) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
  manager uuid;
  player cosound.players;
begin
  if cosound.has_role('admin', uid) then
    manager := case when manager_email is null then uid else cosound.user_by_email(manager_email) end;
  elsif cosound.has_role('manager', uid) then
    if manager_email is not null and cosound.user_by_email(manager_email) <> uid then
      raise sqlstate '42501' using message = 'a manager creates players for themselves only';
    end if;
    manager := uid;
  else
    raise sqlstate '42501' using message = 'only an admin or a manager may create players';
  end if;
  insert into cosound.players (name, owner_id) values (btrim(create_player.name), manager)
  returning * into player;
  return json_build_object('id', player.id, 'name', player.name, 'manager_id', player.owner_id);
end
$$;
comment on function api.create_player is
  'Creates a player (a room''s device) managed by the caller, or by manager_email when an admin asks. Its key comes from the gateway.';

create function api.rename_player(player_id bigint, name text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
begin
  perform cosound.require_manager_of(player_id);
  update cosound.players p set name = btrim(rename_player.name) where p.id = rename_player.player_id;
  return json_build_object('id', player_id, 'name', btrim(name));
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
    raise sqlstate 'PT404' using message = format('no player with id %s', player_id);
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
    raise sqlstate 'PT404' using message = format('no player with id %s', player_id);
  end if;
  return json_build_object('deleted', player_id);
end
$$;
comment on function api.delete_player is 'Deletes a player with its library, codes, queue and history (admins only).';

create function api.add_to_library(player_id bigint, song_ids bigint[]) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  unknown bigint;
  added integer;
begin
  perform cosound.require_manager_of(player_id);
  if coalesce(cardinality(song_ids), 0) = 0 or array_position(song_ids, null) is not null then
    raise sqlstate '22023' using message = 'song_ids is a list of song ids, with no nulls';
  end if;
  select wanted.id into unknown from unnest(song_ids) as wanted (id)
   where not exists (select from cosound.songs s where s.id = wanted.id) limit 1;
  if unknown is not null then
    raise sqlstate 'PT404' using message = format('no song with id %s', unknown);
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

create function api.revoke_checkin_code(code text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  player bigint;
begin
  select c.player_id into player from cosound.checkin_codes c where c.code = upper(btrim(revoke_checkin_code.code));
  if player is null then
    raise sqlstate 'PT404' using message = format('no check-in code %s', code);
  end if;
  perform cosound.require_manager_of(player);
  delete from cosound.checkin_codes c where c.code = upper(btrim(revoke_checkin_code.code));
  return json_build_object('revoked', upper(btrim(code)), 'player_id', player);
end
$$;
comment on function api.revoke_checkin_code is 'Stops a check-in code from working (its player''s admin or manager).';

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
    raise sqlstate 'PT409' using message = 'an admin cannot revoke their own admin role';
  end if;
  delete from cosound.staff s where s.user_id = uid and s.role = revoke_role.role;
  return json_build_object('user_id', uid, 'role', role, 'revoked', found);
end
$$;
comment on function api.revoke_role is 'Takes a staff role from a user (admins only; never an admin''s own).';

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
    raise sqlstate 'PT404' using message = format('no song with id %s', song_id);
  end if;
  return json_build_object('id', song.id, 'title', song.title, 'type', song.type);
end
$$;
comment on function api.update_song is 'Corrects a song''s title or type (admins only).';

revoke execute on function api.create_player, api.rename_player, api.set_player_manager,
  api.delete_player, api.add_to_library, api.remove_from_library, api.new_checkin_code,
  api.revoke_checkin_code, api.grant_role, api.revoke_role, api.update_song from public;
grant execute on function api.create_player, api.rename_player, api.set_player_manager,
  api.delete_player, api.add_to_library, api.remove_from_library, api.new_checkin_code,
  api.revoke_checkin_code, api.grant_role, api.revoke_role, api.update_song to authenticated;
