-- Player keys: the credential a player device trades at the gateway for a short-lived JWT.
-- Only a SHA-256 of each key is stored (keys carry 256 random bits, so a fast hash reveals
-- nothing); one key per player, so rotating replaces the row and revoking deletes it.
create table cosound.player_keys (
  player_id bigint primary key references cosound.players (id) on delete cascade,
  key_hash bytea not null unique
    constraint key_hash_is_a_sha256 check (octet_length(key_hash) = 32),
  created_at timestamptz not null default now()
);

comment on table cosound.player_keys is
  'The current key of each player, as SHA-256 of the key; only the gateway reads or writes it.';

-- No API role may see keys: row-level security is on and only the gateway has a policy.
alter table cosound.player_keys enable row level security;

grant usage on schema cosound to cosound_gateway;
grant select, insert, update, delete on cosound.player_keys to cosound_gateway;

create policy "the gateway issues, checks and revokes player keys"
  on cosound.player_keys for all to cosound_gateway
  using (true) with check (true);
