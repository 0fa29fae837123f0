-- Ratings. Each new vote moves the listener's taste vector in the same transaction (the
-- cosound extension's learning rule), so a vote and its effect commit or fail together.
create table cosound.votes (
  id bigint generated always as identity primary key,
  listener_id uuid not null references cosound.profiles (id) on delete cascade,
  song_id bigint not null references cosound.songs (id) on delete cascade,
  -- Where it was heard, when known.
  player_id bigint references cosound.players (id) on delete set null,
  rating smallint not null
    constraint rating_is_a_whole_number_from_1_to_5 check (rating between 1 and 5),
  created_at timestamptz not null default now(),
  -- Brought in by `cosound-admin import` from an earlier installation.
  imported boolean not null default false
);

create index votes_by_listener_and_time on cosound.votes (listener_id, created_at);
create index votes_by_song on cosound.votes (song_id);
create index votes_by_player on cosound.votes (player_id);

-- Row-locks the listener's profile while updating it, so concurrent votes apply one after
-- the other in commit order. An imported vote already shaped the taste imported with it:
-- learning from it again would move that taste a second time.
create trigger votes_teach_the_listener_taste
  after insert on cosound.votes
  for each row when (not new.imported) execute function extensions.learn_from_vote();
