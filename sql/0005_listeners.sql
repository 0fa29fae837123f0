-- Listeners: one profile per signed-in user, holding the taste vector the ratings teach.
create table cosound.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  -- A unit vector in the taste space; null until the first rating or survey gives one.
  preference extensions.vector(5)
    constraint preference_is_a_unit_vector check (extensions.require_taste(preference)),
  preference_updated_at timestamptz,
  created_at timestamptz not null default now()
);

-- Every user gets a profile as they sign up (on Supabase, auth owns the insert).
create function cosound.create_profile_for_new_user() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  insert into cosound.profiles (id) values (new.id) on conflict (id) do nothing;
  return new;
end
$$;

create trigger users_get_a_profile
  after insert on auth.users
  for each row execute function cosound.create_profile_for_new_user();

insert into cosound.profiles (id) select id from auth.users on conflict (id) do nothing;
