-- The same sound is one song, whatever file carries it: a demo file with one byte appended
-- was a new song. The gateway hashes the decoded audio (its layout and every sample at 16
-- bits) beside the file, refuses a sound already in the catalogue (409, naming the song), and
-- this index makes that hold for two uploads at the same moment. Songs uploaded before have
-- none; the next upload of their sound is caught by the file's hash when it is the same file.
alter table cosound.songs
  add column audio_sha256 text
    constraint audio_sha256_is_64_hex_digits check (audio_sha256 ~ '^[0-9a-f]{64}$');
create unique index songs_by_audio_sha256 on cosound.songs (audio_sha256);
