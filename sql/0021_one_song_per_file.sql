-- The same audio file is one song: the gateway refuses an upload of a file already in the
-- catalogue (409, naming the song), and this index makes that hold even for two uploads of
-- the same file at the same moment.
create unique index songs_by_content_sha256 on cosound.songs (content_sha256);
