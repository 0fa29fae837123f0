-- `cosound-ml batch-predict` runs with the gateway's settings and places songs that lack an
-- embedding (or all, after a model change): the gateway's role may change a song's
-- embedding, and no other column of it.
grant update (embedding) on cosound.songs to cosound_gateway;
create policy the_gateway_places_songs on cosound.songs
  for update to cosound_gateway using (true) with check (true);
