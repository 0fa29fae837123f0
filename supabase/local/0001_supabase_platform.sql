-- What a Supabase project provides and plain PostgreSQL lacks: the API roles, the `auth`
-- schema with auth.uid(), auth.jwt() and auth.role(), and the `extensions` schema.
-- Applied only to a local database (`cargo xtask`), never to a Supabase project, where these
-- exist already. Written to be harmless when re-run.

do $$
begin
  -- The roles PostgREST switches to, from the JWT's `role` claim.
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- PostgREST logs in as this role and can only switch to the ones granted below; the
  -- password is set per install by `cargo xtask`, never here.
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator nologin noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  created_at timestamptz not null default now()
);

-- The verified claims of the request's JWT, as PostgREST sets them; empty for none.
create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

-- The signed-in user's id (the JWT's `sub`), or null.
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select nullif(auth.jwt() ->> 'sub', '')::uuid
$$;

-- The request's role (the JWT's `role` claim), or null.
create or replace function auth.role() returns text
language sql stable
as $$
  select nullif(auth.jwt() ->> 'role', '')
$$;
