-- An upload inserts a song as cosound_gateway, and the statement trigger that counts
-- catalogue changes then updates cosound.catalogue, which no API role may write. The counter
-- is bookkeeping of the catalogue itself: bump it as the function's owner, whoever changed
-- the songs.
alter function cosound.bump_catalogue_generation() security definer;
