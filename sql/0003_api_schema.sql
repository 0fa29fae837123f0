-- The API: the only schema PostgREST exposes. It holds views and functions over private
-- tables, so it is a deliberate contract that tables can change behind.
create schema if not exists api;
grant usage on schema api to anon, authenticated, service_role;

-- Nothing in the API is callable by everyone unless granted so, function by function.
alter default privileges in schema api revoke execute on functions from public;

-- A listener's taste vector after one rating: the learning rule of the cosound extension,
-- for previews. Signed-in users only.
create function api.preference_after_rating(
  preference extensions.vector,
  embedding extensions.vector,
  rating integer
) returns extensions.vector
language sql immutable
as $$
  select extensions.apply_rating(preference, embedding, rating)
$$;

comment on function api.preference_after_rating is
  'A taste vector after one rating (1-5) of a sound with this embedding; null preference = a new listener.';

revoke execute on function api.preference_after_rating from public;
grant execute on function api.preference_after_rating to authenticated, service_role;
