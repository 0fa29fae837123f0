-- The catalogue: every sound Cosound can play, with its place in the taste space.
-- Tables live in the private schema `cosound`; clients reach them only through `api`.
create schema if not exists cosound;

-- A soundscape is a looped layer; an instrumental plays once over the layers.
create type cosound.song_type as enum ('soundscape', 'instrumental');

create table cosound.songs (
  id bigint generated always as identity primary key,
  type cosound.song_type not null,
  title text not null
    constraint title_is_1_to_200_characters check (char_length(btrim(title)) between 1 and 200),
  duration_ms integer not null
    constraint duration_is_positive check (duration_ms > 0),
  -- The audio file in the S3 bucket.
  object_key text not null unique
    constraint object_key_is_1_to_1024_characters check (char_length(object_key) between 1 and 1024),
  -- Null until the model has placed the sound; require_embedding names what is wrong otherwise.
  embedding extensions.vector(5)
    constraint embedding_is_valid check (extensions.require_embedding(embedding)),
  -- Brings the sound to the common loudness when played (ReplayGain-style, in dB).
  loudness_gain_db real not null default 0
    constraint loudness_gain_is_within_60_db check (loudness_gain_db between -60 and 60),
  -- Kept current by the plays table's triggers, so ranking never scans the history.
  last_played_at timestamptz,
  created_at timestamptz not null default now(),
  -- What the gateway's upload records about the audio file, so players can verify downloads.
  byte_size bigint
    constraint byte_size_is_positive check (byte_size > 0),
  content_sha256 text
    constraint content_sha256_is_64_hex_digits check (content_sha256 ~ '^[0-9a-f]{64}$'),
  content_type text
    constraint content_type_is_audio check (content_type ~ '^audio/[a-z0-9.+-]+$'),
  -- The hash of the decoded audio (its layout and every sample at 16 bits), beside the file's.
  audio_sha256 text
    constraint audio_sha256_is_64_hex_digits check (audio_sha256 ~ '^[0-9a-f]{64}$')
)
-- Room on each page for the frequent last_played_at updates to stay HOT (no index churn).
with (fillfactor = 80);

comment on table cosound.songs is
  'The catalogue. embedding: the per-class weights (rain, sea_waves, thunderstorm, wind, crackling_fire), each in [0, 1].';

-- Nearest sounds to a taste by cosine distance, for catalogues too large to scan per call.
create index songs_embedding_by_cosine on cosound.songs
  using hnsw (embedding extensions.vector_cosine_ops);

-- The same sound is one song, whatever file carries it. The gateway refuses an upload of a
-- file, or of decoded audio, already in the catalogue (409, naming the song); these indexes
-- make that hold for two uploads at the same moment.
create unique index songs_by_content_sha256 on cosound.songs (content_sha256);
create unique index songs_by_audio_sha256 on cosound.songs (audio_sha256);
