-- Local sign-up and sign-in, standing in for Supabase Auth (GoTrue), which cannot run here.
-- Applied after the schema (it uses the cosound extension's bcrypt and JWT signing), and only
-- locally: on Supabase, GoTrue issues the same tokens (the sessions they open: next file).
--
-- Sign-up says nothing about who has an account, and guessing passwords has a limit.
-- * sign_up answers the same for a new address and a taken one, after the same work (a bcrypt
--   hash): the account exists afterwards, and the caller signs in. A taken address keeps its
--   password, so signing in with the new one fails as any wrong password does.
-- * Five failed sign-ins for one address in 15 minutes refuse that address (429, with the
--   minutes to wait) until the oldest failure is 15 minutes old, whether or not it has an
--   account, so the limit does not tell either. A success clears the address's failures.
--   (The limit per client address is the gateway's, which sees the address.)
-- * Refusals go through cosound.refuse, so no message carries the caller's e-mail address
--   into the HTTP status line.

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

create table auth.local_failed_sign_ins (
  address_hash bytea not null
    constraint address_hash_is_a_sha256 check (octet_length(address_hash) = 32),
  failed_at timestamptz not null default now()
);
create index local_failed_sign_ins_by_address on auth.local_failed_sign_ins (address_hash, failed_at);
comment on table auth.local_failed_sign_ins is
  'Recent failed sign-ins, by SHA-256 of the e-mail address tried (known or not).';
alter table auth.local_failed_sign_ins enable row level security;
revoke all on auth.local_failed_sign_ins from public, anon, authenticated, service_role;

create function auth.local_sign_in_window() returns interval
language sql immutable set search_path = ''
as $$ select interval '15 minutes' $$;

-- The e-mail address as accounts store it, refused (400) unless it looks like one.
create function auth.local_address(email text) returns text
language plpgsql immutable set search_path = ''
as $$
declare
  address text := lower(btrim(email));
begin
  if address is null or char_length(address) > 254
     or address !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+\.[^@[:space:][:cntrl:]]+$' then
    perform cosound.refuse(400, 'not a valid e-mail address', cosound.quoted(email));
  end if;
  return address;
end
$$;

-- A sign-in: the session, or {refused: status, message, retry_after} with the failure
-- recorded. It returns rather than raises, so that the failure it records is kept.
create function auth.local_sign_in(email text, password text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  address text := lower(btrim(email));
  tried bytea := sha256(convert_to(coalesce(address, ''), 'UTF8'));
  window_start timestamptz := now() - auth.local_sign_in_window();
  failures integer;
  oldest timestamptz;
  account auth.users;
  decoy text;
begin
  -- Two sign-ins for one address at once cannot both pass the limit.
  perform pg_advisory_xact_lock(hashtextextended('auth.local_sign_in ' || encode(tried, 'hex'), 0));
  delete from auth.local_failed_sign_ins f where f.address_hash = tried
     and f.failed_at <= window_start;
  select count(*), min(f.failed_at) into failures, oldest
    from auth.local_failed_sign_ins f where f.address_hash = tried;
  if failures >= 5 then
    return json_build_object(
      'refused', 429,
      'message', 'too many failed sign-ins for this e-mail address: wait, then try again',
      'retry_after', ceil(extract(epoch from oldest + auth.local_sign_in_window() - now())));
  end if;
  select * into account from auth.users u where u.email = address and char_length(address) <= 254;
  select value into decoy from auth.local_settings where name = 'decoy_password_hash';
  if not extensions.verify_password(coalesce(password, ''), coalesce(account.encrypted_password, decoy))
     or account.id is null then
    insert into auth.local_failed_sign_ins (address_hash) values (tried);
    return json_build_object('refused', 400, 'message', 'invalid e-mail or password');
  end if;
  delete from auth.local_failed_sign_ins f where f.address_hash = tried;
  return auth.local_session(account.id);
end
$$;
revoke execute on function auth.local_sign_in from public;
grant execute on function auth.local_sign_in to cosound_gateway;

create schema if not exists api;

create function api.sign_up(email text, password text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  address text := auth.local_address(email);
  -- Hashed for a taken address too (and refused alike when weak), so the answer and its time
  -- are the same.
  hash text := extensions.hash_password(password);
begin
  insert into auth.users (email, encrypted_password) values (address, hash)
  on conflict do nothing;
  return json_build_object(
    'email', address,
    'next', 'sign in with this e-mail address and password (an address that already had an account keeps its password)');
end
$$;
comment on function api.sign_up is
  'Creates a listener account (password: 8+ characters of two kinds) unless the address has one; either way the answer is the same: sign in next.';

create function api.sign_in(email text, password text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  answer json := auth.local_sign_in(email, password);
  status integer := (answer ->> 'refused')::integer;
begin
  if status is null then
    return answer;
  end if;
  -- A refusal PostgREST passes on as it is: this status, PostgREST's error body.
  perform set_config('response.status', status::text, true);
  if answer ->> 'retry_after' is not null then
    perform set_config('response.headers',
      json_build_array(json_build_object('Retry-After', answer ->> 'retry_after'))::text, true);
  end if;
  return json_build_object('code', 'PT' || status, 'message', answer ->> 'message',
    'details', case when answer ->> 'retry_after' is not null
                    then format('try again in %s s', answer ->> 'retry_after') end,
    'hint', null);
end
$$;
comment on function api.sign_in is 'Returns a session with a one-hour access token for a listener''s e-mail and password.';

revoke execute on function api.sign_up, api.sign_in from public;
grant execute on function api.sign_up, api.sign_in to anon, authenticated;
