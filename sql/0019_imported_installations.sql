-- Importing an earlier installation (`cosound-admin import`). Its original ids are kept beside
-- Cosound's own, so a second run skips what is already in and an interrupted one goes on where
-- it stopped. Only the owner, who runs the import, reads or writes them.
create table cosound.imported_players (
  original_id text primary key,
  player_id bigint not null unique references cosound.players (id) on delete cascade
);

create table cosound.imported_users (
  original_id text primary key,
  user_id uuid not null unique references auth.users (id) on delete cascade
);

-- Two originals may be the same sound (the gateway finds it by content), so a song may have
-- more than one.
create table cosound.imported_songs (
  original_id text primary key,
  song_id bigint not null references cosound.songs (id) on delete cascade
);
create index imported_songs_by_song on cosound.imported_songs (song_id);

create table cosound.imported_votes (
  original_id text primary key,
  vote_id bigint not null unique references cosound.votes (id) on delete cascade
);

alter table cosound.imported_players enable row level security;
alter table cosound.imported_users enable row level security;
alter table cosound.imported_songs enable row level security;
alter table cosound.imported_votes enable row level security;
revoke all on cosound.imported_players, cosound.imported_users, cosound.imported_songs,
  cosound.imported_votes from public, anon, authenticated, service_role;
