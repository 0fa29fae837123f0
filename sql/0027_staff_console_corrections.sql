-- Two corrections to the staff console's migration (0026).
--
-- Managers now read when their players' keys were issued (never the hash): the table's
-- comment said only the gateway reads it.
comment on table cosound.player_keys is
  'The current key of each player, as SHA-256 of the key. Only the gateway reads the hash and '
  'writes keys; managers may read when the key of a player they run was issued.';

-- A staff member whose profile row is missing (made before profiles, or by hand) is still
-- staff: the list must show them, or an admin could never revoke the role.
create or replace function api.staff_members()
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
