-- Why this mix: each new version of a player's queue is kept with what set it off, how the
-- steady-mix step moved its layers, and each item's fit to the room and recency penalty (the
-- extension's `why.rs` and `steady.rs`; the refresh writes them). A player's manager reads
-- them; a listener reads only how close the mix is to their own taste (api.my_share).
create type cosound.queue_trigger as enum
  ('first', 'strategy', 'check_in', 'check_out', 'rating', 'catalogue', 'play', 'clock');
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

alter table cosound.queue_versions enable row level security;
alter table cosound.queue_version_items enable row level security;
grant select on cosound.queue_versions, cosound.queue_version_items to authenticated;
create policy versions_of_managed_players on cosound.queue_versions
  for select to authenticated using (cosound.manages_player(player_id));
create policy version_items_of_managed_players on cosound.queue_version_items
  for select to authenticated using (cosound.manages_player(player_id));

create view api.queue_versions with (security_invoker = true) as
  select player_id, version, made_at, trigger, strategy, listeners, layer_change,
         layer_out, layer_in
    from cosound.queue_versions;
comment on view api.queue_versions is
  'Why each recent queue version of the players the caller manages was made: the trigger, the group strategy, how many listeners counted, and how its layers changed.';
create view api.queue_version_items with (security_invoker = true) as
  select i.player_id, i.version, i.slot, i.song_id, s.title, i.role, i.gain, i.fit, i.penalty
    from cosound.queue_version_items i join cosound.songs s on s.id = i.song_id;
comment on view api.queue_version_items is
  'What each recent queue version of the players the caller manages held: each item''s gain, its fit to the room (cosine similarity) and its recency penalty.';
grant select on api.queue_versions, api.queue_version_items to authenticated;

-- How close the mix a player was last given is to each listener there: the gain-weighted
-- cosine similarity of its layers to their taste, written by the refresh (`group::fit`).
-- Sessions are their listener's alone, so this is too.
alter table cosound.sessions
  add column share real constraint share_is_a_similarity check (share between -1.0001 and 1.0001);
comment on column cosound.sessions.share is
  'How close the mix the player was last given is to this listener''s taste (cosine similarity, -1 to 1).';

create view api.my_share with (security_invoker = true) as
  select s.player_id, q.version, q.listeners, s.share as fit
    from cosound.sessions s
    left join cosound.queue_state q on q.player_id = s.player_id
   where s.listener_id = auth.uid() and s.ended_at is null and s.expires_at > now();
comment on view api.my_share is
  'How close the mix where the signed-in listener is checked in is to their taste (fit: the gain-weighted cosine similarity of its layers, -1 to 1; null until a mix was made with their taste), and how many listeners it was mixed for.';
grant select on api.my_share to authenticated;
