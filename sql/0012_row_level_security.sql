-- Row-level security on every private table. The API reads them through views that run with
-- the caller's rights (security_invoker), so these policies decide which rows each caller sees.
-- API roles hold no write privilege on any table: every change goes through an API function
-- that checks who asks and says why it refuses.
--
-- Policies name the role they serve, so each role's reads carry only its own conditions (a
-- device's queue poll is a primary-key lookup). Calls that do not depend on the row are
-- wrapped in `(select …)` so they run once per query, not once per row.

grant usage on schema cosound to authenticated, player;
-- auth.uid(), auth.jwt() and auth.role() for devices too.
grant usage on schema auth to player;

alter table cosound.songs enable row level security;
alter table cosound.profiles enable row level security;
alter table cosound.staff enable row level security;
alter table cosound.players enable row level security;
alter table cosound.player_library enable row level security;
alter table cosound.checkin_codes enable row level security;
alter table cosound.player_keys enable row level security;
alter table cosound.sessions enable row level security;
alter table cosound.votes enable row level security;
alter table cosound.plays enable row level security;
alter table cosound.last_plays enable row level security;
alter table cosound.play_failures enable row level security;
alter table cosound.schedule_blocks enable row level security;
alter table cosound.schedule_block_library enable row level security;
alter table cosound.player_queue enable row level security;
alter table cosound.queue_state enable row level security;
alter table cosound.catalogue enable row level security;
alter table cosound.queue_versions enable row level security;
alter table cosound.queue_version_items enable row level security;

-- The catalogue is open to every signed-in listener and device; only the gateway adds songs,
-- removes failed uploads, and places songs in the taste space.
grant select on cosound.songs to authenticated, player;
create policy songs_are_listed_for_listeners on cosound.songs
  for select to authenticated using (true);
create policy songs_are_listed_for_devices on cosound.songs
  for select to player using (true);
create policy the_gateway_reads_songs on cosound.songs
  for select to cosound_gateway using (true);
create policy the_gateway_adds_songs on cosound.songs
  for insert to cosound_gateway with check (true);
create policy the_gateway_removes_failed_uploads on cosound.songs
  for delete to cosound_gateway using (true);
create policy the_gateway_places_songs on cosound.songs
  for update to cosound_gateway using (true) with check (true);

-- A taste is private: a listener sees their own; an admin sees everyone's.
grant select on cosound.profiles to authenticated;
create policy own_profile_or_admin on cosound.profiles
  for select to authenticated
  using (id = (select auth.uid()) or (select cosound.has_role('admin')));

-- Everyone sees their own roles; admins see all.
grant select on cosound.staff to authenticated;
create policy own_roles_or_admin on cosound.staff
  for select to authenticated
  using (user_id = (select auth.uid()) or (select cosound.has_role('admin')));

-- Rooms are listed for every signed-in listener, so they can check in by choosing one (the
-- API's view shows a room's manager only to those who manage it); the device sees itself.
grant select on cosound.players to authenticated, player;
create policy managed_players on cosound.players
  for select to authenticated
  using ((select cosound.has_role('admin')) or owner_id = (select auth.uid()));
create policy rooms_are_listed_for_listeners on cosound.players
  for select to authenticated using (true);
create policy the_device_itself on cosound.players
  for select to player using (id = (select cosound.request_player_id()));
create policy the_gateway_reads_players on cosound.players
  for select to cosound_gateway using (true);

grant select on cosound.player_library to authenticated, player;
create policy libraries_of_managed_players on cosound.player_library
  for select to authenticated using (cosound.manages_player(player_id));
create policy the_device_library on cosound.player_library
  for select to player using (player_id = (select cosound.request_player_id()));
create policy the_gateway_reads_libraries on cosound.player_library
  for select to cosound_gateway using (true);

-- A room's codes are for those who manage it.
grant select on cosound.checkin_codes to authenticated;
create policy codes_of_managed_players on cosound.checkin_codes
  for select to authenticated using (cosound.manages_player(player_id));

-- The key's hash is the gateway's alone: managers may read when their players' keys were
-- issued, and no other column.
grant select (player_id, created_at) on cosound.player_keys to authenticated;
create policy keys_of_managed_players on cosound.player_keys
  for select to authenticated using (cosound.manages_player(player_id));
create policy "the gateway issues, checks and revokes player keys"
  on cosound.player_keys for all to cosound_gateway
  using (true) with check (true);

-- Check-ins and ratings are a listener's own.
grant select on cosound.sessions to authenticated;
create policy own_sessions on cosound.sessions
  for select to authenticated using (listener_id = (select auth.uid()));

grant select on cosound.votes to authenticated;
create policy own_votes on cosound.votes
  for select to authenticated using (listener_id = (select auth.uid()));

-- The play history is for the player's managers and the device.
grant select on cosound.plays to authenticated, player;
create policy plays_of_managed_players on cosound.plays
  for select to authenticated using (cosound.manages_player(player_id));
create policy the_device_history on cosound.plays
  for select to player using (player_id = (select cosound.request_player_id()));

-- Only the functions' owner reads or writes each player's last plays: no policy.
revoke all on cosound.last_plays from public, anon, authenticated, service_role;

grant select on cosound.play_failures to authenticated;
create policy failures_of_managed_players on cosound.play_failures
  for select to authenticated using (cosound.manages_player(player_id));

grant select on cosound.schedule_blocks, cosound.schedule_block_library to authenticated;
create policy blocks_of_managed_players on cosound.schedule_blocks
  for select to authenticated using (cosound.manages_player(player_id));
create policy block_libraries_of_managed_players on cosound.schedule_block_library
  for select to authenticated
  using (exists (select from cosound.schedule_blocks b
                  where b.id = block_id and cosound.manages_player(b.player_id)));

-- What a player plays next: the device, its managers, and the listeners checked in there.
create function cosound.is_checked_in_at(player bigint, uid uuid default auth.uid())
returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select from cosound.sessions
     where listener_id = uid and player_id = player and ended_at is null and expires_at > now()
  )
$$;
revoke execute on function cosound.is_checked_in_at from public;
grant execute on function cosound.is_checked_in_at to authenticated;

grant select on cosound.player_queue to authenticated, player;
create policy the_device_queue on cosound.player_queue
  for select to player using (player_id = (select cosound.request_player_id()));
create policy queues_of_managed_or_visited_players on cosound.player_queue
  for select to authenticated
  using (cosound.manages_player(player_id) or cosound.is_checked_in_at(player_id));
create policy the_gateway_reads_queues on cosound.player_queue
  for select to cosound_gateway using (true);

-- A queue's state without the target and the tastes, which are the refresh's alone.
grant select (player_id, version, catalogue_generation, last_play_at, refreshed_at, strategy,
              listeners, block_id, volume_cap)
  on cosound.queue_state to authenticated, player;
create policy the_device_queue_version on cosound.queue_state
  for select to player using (player_id = (select cosound.request_player_id()));
create policy queue_versions_of_managed_or_visited_players on cosound.queue_state
  for select to authenticated
  using (cosound.manages_player(player_id) or cosound.is_checked_in_at(player_id));

-- Why each queue version was made is for the player's managers; a listener reads only how
-- close the mix is to their own taste (their session's share).
grant select on cosound.queue_versions, cosound.queue_version_items to authenticated;
create policy versions_of_managed_players on cosound.queue_versions
  for select to authenticated using (cosound.manages_player(player_id));
create policy version_items_of_managed_players on cosound.queue_version_items
  for select to authenticated using (cosound.manages_player(player_id));
