-- What the staff console shows beyond the earlier API: who is checked in at the players a
-- manager runs (by their leaderboard name only: never an id, an e-mail or a taste), whether
-- each player has a device key (when it was issued, never the key), and, for admins, who
-- holds which staff role by e-mail address, so roles and players can be handed over by name.

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

-- The key's hash stays the gateway's alone: managers may read only these two columns.
grant select (player_id, created_at) on cosound.player_keys to authenticated;
create policy keys_of_managed_players on cosound.player_keys
  for select to authenticated using (cosound.manages_player(player_id));
create view api.player_keys with (security_invoker = true) as
  select player_id, created_at as issued_at from cosound.player_keys;
comment on view api.player_keys is
  'When the device key of each player the caller manages was issued (none: the player has no key).';
grant select on api.player_keys to authenticated;

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
      join cosound.profiles p on p.id = s.user_id
     order by u.email, s.role;
end
$$;
comment on function api.staff_members is 'Every staff role with its holder''s e-mail address (admins only).';

revoke execute on function api.checked_in, api.staff_members from public;
grant execute on function api.checked_in, api.staff_members to authenticated;
