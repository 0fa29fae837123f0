-- What each player plays next: its soundscape layers with their gains and its next
-- instrumental, written by the cosound extension's refresh_queue / refresh_all_queues; what
-- each refresh was computed from; and why each recent version of a queue was made.
create type cosound.queue_role as enum ('layer', 'instrumental');

create table cosound.player_queue (
  player_id bigint not null references cosound.players (id) on delete cascade,
  -- Channel order on the player: layers first, then the instrumental (16 channels at most).
  slot smallint not null
    constraint slot_is_one_of_16_channels check (slot between 0 and 15),
  song_id bigint not null references cosound.songs (id) on delete cascade,
  role cosound.queue_role not null,
  -- Linear gain: how much of the mix this layer makes up, times the song's loudness gain.
  gain real not null
    constraint gain_is_positive_and_finite check (gain > 0 and gain < 'infinity'),
  -- A steady mix (the extension's `steady.rs`) moves the playing layers at most one step
  -- towards the ranking's proposal, which needs how long each song has been there.
  since timestamptz not null default now(),
  primary key (player_id, slot)
);
comment on column cosound.player_queue.since is
  'When this song took its role in the queue; a song kept across refreshes keeps it.';

create index player_queue_by_song on cosound.player_queue (song_id);

-- What the last refresh of a player's queue was computed from, so a refresh is cheap when
-- nothing changed; version counts the queue's changes.
create table cosound.queue_state (
  player_id bigint primary key references cosound.players (id) on delete cascade,
  version bigint not null default 0,
  -- The group's target, the fallback when nobody is there. Listeners' tastes are theirs
  -- alone, and the target gives them away too (with one listener it is their taste; with two,
  -- each can solve for the other's), so it and the tastes are the refresh's alone.
  target extensions.vector(5) not null,
  catalogue_generation bigint not null,
  last_play_at timestamptz,
  refreshed_at timestamptz not null,
  strategy cosound.group_strategy,
  tastes real[],
  -- Whether the room emptied or filled since the last refresh (then the proposal is whole).
  listeners integer
    constraint listeners_are_counted check (listeners >= 0),
  -- The schedule's block the last refresh honoured, and the volume cap the device applies.
  block_id bigint references cosound.schedule_blocks (id) on delete set null,
  volume_cap real not null default 1
    constraint a_volume_cap_is_from_0_to_1 check (volume_cap between 0 and 1)
);
comment on column cosound.queue_state.listeners is
  'How many listeners with a taste the last refresh counted at the player.';

-- Counts changes to what players may play (songs and libraries), which are rare.
create table cosound.catalogue (
  only_row boolean primary key default true constraint there_is_one_catalogue check (only_row),
  generation bigint not null default 0
);
insert into cosound.catalogue default values;

-- The counter is bookkeeping of the catalogue itself: bumped as the function's owner, whoever
-- changed the songs (an upload inserts as cosound_gateway, which may not write the counter).
create function cosound.bump_catalogue_generation() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  update cosound.catalogue set generation = generation + 1;
  return null;
end
$$;

create trigger songs_changed_bump_catalogue
  after insert or delete or truncate on cosound.songs
  for each statement execute function cosound.bump_catalogue_generation();
create trigger songs_edited_bump_catalogue
  after update of type, embedding, loudness_gain_db on cosound.songs
  for each statement execute function cosound.bump_catalogue_generation();
create trigger libraries_changed_bump_catalogue
  after insert or update or delete or truncate on cosound.player_library
  for each statement execute function cosound.bump_catalogue_generation();

-- Why this mix: each new version of a player's queue is kept with what set it off, how the
-- steady-mix step moved its layers, and each item's fit to the room and recency penalty (the
-- extension's `why.rs` and `steady.rs`; the refresh writes them).
create type cosound.queue_trigger as enum
  ('first', 'strategy', 'schedule', 'check_in', 'check_out', 'rating', 'catalogue', 'play',
   'clock');
comment on type cosound.queue_trigger is
  'What set off a queue refresh: its first queue, a new group strategy, a check-in or check-out, a listener''s taste moving (a rating or the survey), the catalogue or library changing, a reported play, or only time.';
create type cosound.layer_change as enum ('kept', 'whole', 'swapped', 'added', 'dropped');
comment on type cosound.layer_change is
  'How a refresh moved the layers: kept them (gains or the instrumental may have moved), took the proposal whole (the room emptied, filled or changed strategy), or swapped, added or dropped one.';

create table cosound.queue_versions (
  player_id bigint not null references cosound.players (id) on delete cascade,
  version bigint not null,
  made_at timestamptz not null default now(),
  trigger cosound.queue_trigger not null,
  strategy cosound.group_strategy not null,
  listeners integer not null constraint listeners_are_counted check (listeners >= 0),
  layer_change cosound.layer_change not null,
  -- The layer that left and the one that came, as far as the songs still exist.
  layer_out bigint references cosound.songs (id) on delete set null,
  layer_in bigint references cosound.songs (id) on delete set null,
  primary key (player_id, version)
);
comment on table cosound.queue_versions is
  'Each player''s latest queue versions (the extension keeps 50), with why each was made.';

create table cosound.queue_version_items (
  player_id bigint not null,
  version bigint not null,
  slot smallint not null,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  role cosound.queue_role not null,
  gain real not null,
  -- Cosine similarity to the room (to the listener it suits least, under least misery).
  fit real not null constraint fit_is_a_similarity check (fit between -1.0001 and 1.0001),
  penalty real not null constraint penalty_is_not_negative check (penalty >= 0),
  primary key (player_id, version, slot),
  foreign key (player_id, version) references cosound.queue_versions on delete cascade
);
create index queue_version_items_by_song on cosound.queue_version_items (song_id);
comment on table cosound.queue_version_items is
  'What each kept queue version held, with each item''s fit to the room and recency penalty.';
