-- What each player plays next: its soundscape layers with their gains and its next
-- instrumental, written by the cosound extension's refresh_queue / refresh_all_queues.
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
  primary key (player_id, slot)
);

create index player_queue_by_song on cosound.player_queue (song_id);

-- What the last refresh of a player's queue was computed from, so a refresh is cheap when
-- nothing changed; version counts the changes announced on the cosound_queue channel.
create table cosound.queue_state (
  player_id bigint primary key references cosound.players (id) on delete cascade,
  version bigint not null default 0,
  target extensions.vector(5) not null,
  catalogue_generation bigint not null,
  last_play_at timestamptz,
  refreshed_at timestamptz not null
);

-- Counts changes to what players may play (songs and libraries), which are rare.
create table cosound.catalogue (
  only_row boolean primary key default true constraint there_is_one_catalogue check (only_row),
  generation bigint not null default 0
);
insert into cosound.catalogue default values;

create function cosound.bump_catalogue_generation() returns trigger
language plpgsql
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
