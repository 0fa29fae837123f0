-- Local sign-up and sign-in, standing in for Supabase Auth (GoTrue), which cannot run here.
-- Applied after the schema (it uses the cosound extension's bcrypt and JWT signing), and only
-- locally: on Supabase, GoTrue issues the same tokens. Written to be harmless when re-run.

-- GoTrue's column: bcrypt hashes, so local accounts carry over.
alter table auth.users add column if not exists encrypted_password text;

-- The JWT secret shared with PostgREST, set per install by `cargo xtask`; no API role can
-- read it.
create table if not exists auth.local_settings (
  name text primary key,
  value text not null
);
revoke all on auth.local_settings from public, anon, authenticated, service_role;

-- A real bcrypt hash of a random password, so that signing in with an unknown address costs as
-- much time as a wrong password, and timing does not tell which addresses have accounts.
insert into auth.local_settings (name, value)
values ('decoy_password_hash', extensions.hash_password(gen_random_uuid()::text))
on conflict (name) do nothing;

-- A session as GoTrue returns it: a one-hour access token with Supabase's claims.
create or replace function auth.local_session(user_id uuid) returns json
language plpgsql stable security definer set search_path = ''
as $$
declare
  account auth.users;
  lifetime constant integer := 3600;
  issued bigint := extract(epoch from now())::bigint;
  secret text;
begin
  select * into strict account from auth.users where id = user_id;
  select value into secret from auth.local_settings where name = 'jwt_secret';
  if secret is null then
    raise exception 'local sign-in has no JWT secret' using hint = 'run cargo xtask up';
  end if;
  return json_build_object(
    'access_token', extensions.sign_jwt(jsonb_build_object(
      'sub', account.id,
      'role', 'authenticated',
      'aud', 'authenticated',
      'email', account.email,
      'iat', issued,
      'exp', issued + lifetime,
      'app_metadata', jsonb_build_object('provider', 'email'),
      'user_metadata', '{}'::jsonb
    ), secret),
    'token_type', 'bearer',
    'expires_in', lifetime,
    'expires_at', issued + lifetime,
    'user', json_build_object('id', account.id, 'email', account.email)
  );
end
$$;
revoke execute on function auth.local_session from public;

create schema if not exists api;

create or replace function api.sign_up(email text, password text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  address text := lower(trim(email));
  new_id uuid;
begin
  if address is null or address !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' then
    raise sqlstate 'PT400' using message = format('not a valid e-mail address: %s', coalesce(email, 'none'));
  end if;
  begin
    insert into auth.users (email, encrypted_password)
    values (address, extensions.hash_password(password))
    returning id into new_id;
  exception when unique_violation then
    raise sqlstate 'PT409' using message = 'an account with this e-mail address already exists';
  end;
  return auth.local_session(new_id);
end
$$;
comment on function api.sign_up is
  'Creates a listener account (password: 8+ characters of two kinds) and returns a session with its access token.';

create or replace function api.sign_in(email text, password text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  account auth.users;
  decoy text;
begin
  select * into account from auth.users where auth.users.email = lower(trim(sign_in.email));
  select value into decoy from auth.local_settings where name = 'decoy_password_hash';
  if not extensions.verify_password(password, coalesce(account.encrypted_password, decoy))
     or account.id is null then
    raise sqlstate 'PT400' using message = 'invalid e-mail or password';
  end if;
  return auth.local_session(account.id);
end
$$;
comment on function api.sign_in is 'Returns a session with a one-hour access token for a listener''s e-mail and password.';

revoke execute on function api.sign_up, api.sign_in from public;
grant execute on function api.sign_up, api.sign_in to anon, authenticated;
