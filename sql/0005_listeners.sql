-- Listeners: one profile per signed-in user, holding the taste vector the ratings teach.
create table cosound.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  -- A unit vector in the taste space; null until the first rating or survey gives one.
  preference extensions.vector(5)
    constraint preference_is_a_unit_vector check (extensions.require_taste(preference)),
  preference_updated_at timestamptz,
  created_at timestamptz not null default now(),
  -- Shown on the leaderboard instead of anything identifying.
  display_name text
    constraint display_name_is_1_to_40_characters
      check (char_length(btrim(display_name)) between 1 and 40)
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

-- Users who signed up before Cosound was installed (on a Supabase project that had some).
insert into cosound.profiles (id) select id from auth.users on conflict (id) do nothing;
