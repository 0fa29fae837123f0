-- A steady mix (the extension's `steady.rs`): a refresh moves the playing layers at most one
-- step towards the ranking's proposal, and a layer gives way early only to one that fits the
-- room clearly better. That needs how long each queued song has been there, and whether the
-- room emptied or filled since the last refresh (then the proposal is taken whole).
alter table cosound.player_queue
  add column since timestamptz not null default now();
comment on column cosound.player_queue.since is
  'When this song took its role in the queue; a song kept across refreshes keeps it.';

alter table cosound.queue_state
  add column listeners integer
    constraint listeners_are_counted check (listeners >= 0);
comment on column cosound.queue_state.listeners is
  'How many listeners with a taste the last refresh counted at the player.';
grant select (listeners) on cosound.queue_state to authenticated, player;
