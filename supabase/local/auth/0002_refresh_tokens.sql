-- Sessions with refresh tokens for the local sign-in, kept as GoTrue keeps them: a session
-- per sign-in, a chain of one-use refresh tokens in it, and a used token that comes back
-- (stolen, or replayed) ends the whole session. Only SHA-256 hashes of the tokens are stored:
-- they carry 244 random bits, so a fast hash reveals nothing. The gateway serves these at
-- `/auth/v1` in GoTrue's shapes; on Supabase, GoTrue itself does.

create table auth.local_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_because text
);
create index local_sessions_of_a_user on auth.local_sessions (user_id);

create table auth.local_refresh_tokens (
  token_hash bytea primary key
    constraint token_hash_is_a_sha256 check (octet_length(token_hash) = 32),
  session_id uuid not null references auth.local_sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  used_at timestamptz
);
create index local_refresh_tokens_of_a_session on auth.local_refresh_tokens (session_id);

comment on table auth.local_refresh_tokens is
  'Each refresh token, as SHA-256 of the token; used once, then replaced by the next.';

-- No role but the functions' owner reads or writes them: row-level security with no policy.
alter table auth.local_sessions enable row level security;
alter table auth.local_refresh_tokens enable row level security;
revoke all on auth.local_sessions, auth.local_refresh_tokens
  from public, anon, authenticated, service_role;

-- A user as GoTrue describes one.
create function auth.local_user_json(account auth.users) returns json
language sql stable set search_path = ''
as $$
  select json_build_object(
    'id', account.id,
    'aud', 'authenticated',
    'role', 'authenticated',
    'email', account.email,
    'email_confirmed_at', account.created_at,
    'confirmed_at', account.created_at,
    'phone', '',
    'app_metadata', json_build_object('provider', 'email', 'providers', json_build_array('email')),
    'user_metadata', '{}'::json,
    'identities', '[]'::json,
    'is_anonymous', false,
    'created_at', account.created_at,
    'updated_at', account.created_at
  )
$$;
revoke execute on function auth.local_user_json from public;

-- A one-hour access token and a fresh refresh token in `session`, as GoTrue answers.
create function auth.local_tokens(session uuid) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  account auth.users;
  lifetime constant integer := 3600;
  issued bigint := extract(epoch from now())::bigint;
  secret text;
  refresh text := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
begin
  select u.* into strict account
    from auth.users u join auth.local_sessions s on s.user_id = u.id
   where s.id = session;
  select value into secret from auth.local_settings where name = 'jwt_secret';
  if secret is null then
    raise exception 'local sign-in has no JWT secret' using hint = 'run cargo xtask up';
  end if;
  insert into auth.local_refresh_tokens (token_hash, session_id)
  values (sha256(convert_to(refresh, 'UTF8')), session);
  return json_build_object(
    'access_token', extensions.sign_jwt(jsonb_build_object(
      'sub', account.id,
      'role', 'authenticated',
      'aud', 'authenticated',
      'email', account.email,
      'session_id', session,
      'is_anonymous', false,
      'iat', issued,
      'exp', issued + lifetime,
      'app_metadata', jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email')),
      'user_metadata', '{}'::jsonb
    ), secret),
    'token_type', 'bearer',
    'expires_in', lifetime,
    'expires_at', issued + lifetime,
    'refresh_token', refresh,
    'user', auth.local_user_json(account)
  );
end
$$;
revoke execute on function auth.local_tokens from public;

-- A new session for a user who just signed up or in (api.sign_up and api.sign_in call it).
create function auth.local_session(user_id uuid) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  session uuid;
begin
  insert into auth.local_sessions (user_id) values (local_session.user_id) returning id into session;
  return auth.local_tokens(session);
end
$$;
revoke execute on function auth.local_session from public;

-- Trades a refresh token for the next session tokens. A refusal is returned, not raised, so
-- that ending a session on a reused token is committed: `{ error_code, msg }` in GoTrue's words.
create function auth.local_refresh(refresh_token text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  -- An unused refresh token lasts this long; a session that is used renews itself.
  lifetime constant interval := interval '7 days';
  token auth.local_refresh_tokens;
  session auth.local_sessions;
begin
  select * into token from auth.local_refresh_tokens
   where token_hash = sha256(convert_to(coalesce(refresh_token, ''), 'UTF8'))
     for update;
  if token.token_hash is null then
    return json_build_object('error_code', 'refresh_token_not_found',
                             'msg', 'Invalid Refresh Token: Refresh Token Not Found');
  end if;
  select * into session from auth.local_sessions where id = token.session_id for update;
  if session.revoked_at is not null then
    return json_build_object('error_code', 'session_not_found',
                             'msg', 'Invalid Refresh Token: the session has ended');
  end if;
  if token.used_at is not null then
    update auth.local_sessions
       set revoked_at = now(), revoked_because = 'a used refresh token was presented again'
     where id = session.id;
    return json_build_object('error_code', 'refresh_token_already_used',
                             'msg', 'Invalid Refresh Token: Already Used');
  end if;
  if token.created_at < now() - lifetime then
    return json_build_object('error_code', 'session_expired',
                             'msg', 'Invalid Refresh Token: it has expired; sign in again');
  end if;
  update auth.local_refresh_tokens set used_at = now() where token_hash = token.token_hash;
  return auth.local_tokens(session.id);
end
$$;
revoke execute on function auth.local_refresh from public;

-- The user behind a verified access token, or null when its session has ended. Tokens issued
-- before sessions existed name none; they live out their hour.
create function auth.local_user(user_id uuid, session uuid) returns json
language sql stable security definer set search_path = ''
as $$
  select auth.local_user_json(u)
    from auth.users u
   where u.id = local_user.user_id
     and (session is null or exists (
           select from auth.local_sessions s
            where s.id = session and s.user_id = u.id and s.revoked_at is null))
$$;
revoke execute on function auth.local_user from public;

-- Signs out: `local` ends this session, `others` every other one, `global` all of the user's.
-- Access tokens already issued live out their hour, as with GoTrue.
create function auth.local_sign_out(user_id uuid, session uuid, scope text) returns void
language plpgsql volatile security definer set search_path = ''
as $$
begin
  if scope not in ('global', 'local', 'others') then
    raise sqlstate '22023' using message = 'scope must be global, local or others';
  end if;
  update auth.local_sessions s
     set revoked_at = now(), revoked_because = 'signed out (' || scope || ')'
   where s.user_id = local_sign_out.user_id and s.revoked_at is null
     and case scope
           when 'global' then true
           when 'local' then s.id = session
           else s.id is distinct from session
         end;
end
$$;
revoke execute on function auth.local_sign_out from public;

-- The gateway serves `/auth/v1`: it may call these and the sign-in functions, nothing more.
grant usage on schema auth, api to cosound_gateway;
grant execute on function auth.local_refresh, auth.local_user, auth.local_sign_out,
  api.sign_up, api.sign_in to cosound_gateway;
