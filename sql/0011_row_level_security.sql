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
alter table cosound.sessions enable row level security;
alter table cosound.votes enable row level security;
alter table cosound.plays enable row level security;
alter table cosound.player_queue enable row level security;
alter table cosound.queue_state enable row level security;
alter table cosound.catalogue enable row level security;

-- The catalogue is open to every signed-in listener and device; only the gateway adds songs.
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

-- A player's settings (its check-in code among them) are for those who manage it, and for
-- the device itself.
grant select on cosound.players to authenticated, player;
create policy managed_players on cosound.players
  for select to authenticated
  using ((select cosound.has_role('admin')) or owner_id = (select auth.uid()));
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

grant select on cosound.player_queue, cosound.queue_state to authenticated, player;
create policy the_device_queue on cosound.player_queue
  for select to player using (player_id = (select cosound.request_player_id()));
create policy queues_of_managed_or_visited_players on cosound.player_queue
  for select to authenticated
  using (cosound.manages_player(player_id) or cosound.is_checked_in_at(player_id));
create policy the_gateway_reads_queues on cosound.player_queue
  for select to cosound_gateway using (true);
create policy the_device_queue_version on cosound.queue_state
  for select to player using (player_id = (select cosound.request_player_id()));
create policy queue_versions_of_managed_or_visited_players on cosound.queue_state
  for select to authenticated
  using (cosound.manages_player(player_id) or cosound.is_checked_in_at(player_id));

grant execute on function cosound.has_role, cosound.manages_player, cosound.request_player_id
  to authenticated, player;
