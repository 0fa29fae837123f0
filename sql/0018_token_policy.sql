-- One policy for every JWT, whoever checks it, and tokens that can be revoked.
--
-- PostgREST and the gateway each verify a token's signature and its `exp` and `nbf` (with
-- PostgREST's 30 s allowance for clock skew, on both). What neither library asks is decided
-- here, once, and both ask it: PostgREST before every request (the pre-request hook), the
-- gateway after verifying the signature.
-- * A token says when it was issued and when it expires (`iat`, `exp`); PostgREST accepted a
--   token without `exp` for ever.
-- * Its role is one of the API's; a signed-in user's or a device's token is for the audience
--   `authenticated` (PostgREST's `jwt-aud` accepted a token with no `aud`); an anon or
--   service_role key names no user (the gateway took a `role=anon` token with an admin's `sub`
--   for the admin).
-- * A token issued before its subject's cutoff is refused: revoking or rotating a player's key
--   ends its tokens at once (they ran for up to 5 minutes), and a listener can end every token
--   of theirs, or an admin end someone's. A cutoff counts whole seconds, so a token issued in
--   the very second of the revocation survives; a device's new token a moment later works.

create table cosound.token_cutoffs (
  subject text primary key
    constraint subject_is_a_user_or_a_player check (subject ~ '^(user|player):'),
  issued_before timestamptz not null
);
comment on table cosound.token_cutoffs is
  'Tokens of a user (user:<uuid>) or a player (player:<id>) issued before this time are refused.';
alter table cosound.token_cutoffs enable row level security;
revoke all on cosound.token_cutoffs from public, anon, authenticated, service_role;

-- Why the request's token is refused; null when it is not (or there is none).
create function postgrest_hooks.token_refusal(claims jsonb) returns text
language plpgsql stable security definer set search_path = ''
as $$
declare
  role text := claims ->> 'role';
  audience jsonb := claims -> 'aud';
  whose text;
  cutoff timestamptz;
begin
  -- No token: PostgREST passes the anonymous role alone.
  if claims is null or claims - 'role' = '{}'::jsonb and coalesce(role, 'anon') = 'anon' then
    return null;
  end if;
  if jsonb_typeof(claims -> 'exp') is distinct from 'number' then
    return 'the JWT must say when it expires (exp)';
  end if;
  if jsonb_typeof(claims -> 'iat') is distinct from 'number' then
    return 'the JWT must say when it was issued (iat)';
  end if;
  if role is null or role not in ('anon', 'authenticated', 'player', 'service_role') then
    return 'the JWT''s role must be anon, authenticated, player or service_role';
  end if;
  if role in ('anon', 'service_role') then
    if claims ? 'sub' or claims ? 'player_id' then
      return format('a %s JWT names no user or player', role);
    end if;
    return null;
  end if;
  if not coalesce(audience = '"authenticated"' or (jsonb_typeof(audience) = 'array' and audience ? 'authenticated'), false) then
    return 'the JWT must be for the audience authenticated (aud)';
  end if;
  whose := case role
    when 'authenticated' then 'user:' || (claims ->> 'sub')
    else 'player:' || (claims ->> 'player_id')
  end;
  select c.issued_before into cutoff from cosound.token_cutoffs c where c.subject = whose;
  if (claims ->> 'iat')::numeric < floor(extract(epoch from cutoff)) then
    return 'the JWT was revoked: sign in again';
  end if;
  return null;
end
$$;
revoke execute on function postgrest_hooks.token_refusal from public;
-- Beside the hook, whose schema every API role may use; the gateway asks it too.
grant usage on schema postgrest_hooks to cosound_gateway;
grant execute on function postgrest_hooks.token_refusal to anon, authenticated, player, service_role, cosound_gateway;

-- Ends every token of `subject` issued until now.
create function cosound.revoke_tokens(subject text) returns void
language sql volatile security definer set search_path = ''
as $$
  insert into cosound.token_cutoffs (subject, issued_before) values (subject, now())
  on conflict on constraint token_cutoffs_pkey do update set issued_before = excluded.issued_before
$$;
revoke execute on function cosound.revoke_tokens from public;
grant execute on function cosound.revoke_tokens to cosound_gateway;

-- As its owner, who may raise the refusal (the request's role may not see cosound's functions).
create function postgrest_hooks.require_valid_token() returns void
language plpgsql stable security definer set search_path = ''
as $$
declare
  refusal text := postgrest_hooks.token_refusal(nullif(current_setting('request.jwt.claims', true), '')::jsonb);
begin
  if refusal is not null then
    perform cosound.refuse(401, refusal);
  end if;
end
$$;
grant execute on function postgrest_hooks.require_valid_token to anon, authenticated, player, service_role;

-- The check before every request: the token policy, then the refusal of writes to views.
create function postgrest_hooks.before_request() returns void
language plpgsql stable set search_path = ''
as $$
begin
  perform postgrest_hooks.require_valid_token();
  perform postgrest_hooks.refuse_writes_to_views();
end
$$;
grant execute on function postgrest_hooks.before_request to anon, authenticated, player, service_role;
alter role authenticator set pgrst.db_pre_request = 'postgrest_hooks.before_request';
notify pgrst, 'reload config';

create function api.sign_out_everywhere() returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid := cosound.require_listener();
begin
  perform cosound.revoke_tokens('user:' || uid);
  return json_build_object('user_id', uid, 'tokens_issued_before', now());
end
$$;
comment on function api.sign_out_everywhere is
  'Ends every token of the signed-in user at once, this one included: sign in again afterwards.';

create function api.revoke_tokens(email text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  uid uuid;
begin
  perform cosound.require_admin();
  uid := cosound.user_by_email(email);
  perform cosound.revoke_tokens('user:' || uid);
  return json_build_object('user_id', uid, 'tokens_issued_before', now());
end
$$;
comment on function api.revoke_tokens is
  'Ends every token of a user at once, e.g. of a stolen phone (admins only).';

revoke execute on function api.sign_out_everywhere, api.revoke_tokens from public;
grant execute on function api.sign_out_everywhere, api.revoke_tokens to authenticated;
