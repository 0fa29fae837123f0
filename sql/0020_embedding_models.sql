-- Which model placed each song, and whether by that model's calibrated weights the sound fits
-- none of the five classes (every weight under the model's threshold: it is still accepted and
-- plays, but an admin can see that it is neither rain, waves, thunder, wind nor fire). Whoever
-- embeds a song (the gateway's upload, `cosound-ml batch-predict`) writes all three together;
-- batch-predict re-embeds the songs an older model placed, and `cargo xtask up` runs it.
alter table cosound.songs
  add column embedding_model text
    constraint embedding_model_is_16_hex_digits check (embedding_model ~ '^[0-9a-f]{16}$'),
  add column fits_no_class boolean;
comment on column cosound.songs.embedding_model is
  'The model that computed the embedding: the first 16 hex digits of the SHA-256 of its JSON; null when unknown.';
comment on column cosound.songs.fits_no_class is
  'Whether every weight of the embedding is under the model''s no-class threshold; null when unknown.';

grant update (embedding_model, fits_no_class) on cosound.songs to cosound_gateway;

create or replace view api.songs with (security_invoker = true) as
  select id, type, title, duration_ms, embedding, loudness_gain_db, byte_size, content_sha256,
         content_type, last_played_at, created_at, fits_no_class, embedding_model
    from cosound.songs;
