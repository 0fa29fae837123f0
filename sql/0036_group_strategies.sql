-- How a room's listeners count when its mix is picked, chosen per player by its manager:
-- `mean` (the group vector, as before), `least_misery` (each song by the listener it suits
-- least) or `fair` (a mean weighted towards those the session's mixes have fitted worst). The
-- rules are the extension's (`group.rs`); this is what they read and write.
create type cosound.group_strategy as enum ('mean', 'least_misery', 'fair');
comment on type cosound.group_strategy is
  'How the listeners at a player are combined: mean, least_misery or fair.';

alter table cosound.players
  add column strategy cosound.group_strategy not null default 'mean';

-- How well the mixes fitted each listener over their session, counted by the refresh: the
-- seconds counted, those seconds times the mix's fit (cosine similarity, -1 to 1), and up to
-- when. The fair strategy weighs each listener by the mean, served_fit_seconds / served_seconds.
alter table cosound.sessions
  add column served_seconds float8 not null default 0
    constraint served_seconds_are_not_negative check (served_seconds >= 0),
  add column served_fit_seconds float8 not null default 0
    constraint served_fit_is_a_mean_of_similarities
      check (abs(served_fit_seconds) <= served_seconds * 1.000001),
  add column served_until timestamptz;

-- What the queue was last computed from: the strategy and the tastes there (the fallback
-- target when nobody was). Listeners' tastes are theirs alone, and the target gives them away
-- too (with one listener it is their taste; with two, each can solve for the other's), so
-- both columns are the refresh's: those who may read a queue's state read the others.
alter table cosound.queue_state
  add column strategy cosound.group_strategy,
  add column tastes real[];
revoke select on cosound.queue_state from authenticated, player;
grant select (player_id, version, catalogue_generation, last_play_at, refreshed_at, strategy)
  on cosound.queue_state to authenticated, player;

create or replace view api.players with (security_invoker = true) as
  select id, name, case when cosound.manages_player(id) then owner_id end as manager_id,
         last_seen_at, created_at,
         coalesce(last_seen_at > now() - interval '1 minute', false) as online,
         check_in_by_choice, strategy
    from cosound.players;

create function api.set_player_strategy(player_id bigint, strategy text) returns json
language plpgsql volatile security definer set search_path = ''
as $$
declare
  chosen cosound.group_strategy;
begin
  perform cosound.require_manager_of(player_id);
  if strategy is null or strategy not in (select unnest(enum_range(null::cosound.group_strategy))::text) then
    perform cosound.refuse(400, 'a group strategy is mean, least_misery or fair',
                           'strategy: ' || cosound.quoted(strategy));
  end if;
  chosen := strategy::cosound.group_strategy;
  update cosound.players p set strategy = chosen where p.id = set_player_strategy.player_id;
  -- The room hears the change now, not at the next scheduled refresh.
  perform extensions.refresh_queue(player_id);
  return json_build_object('id', player_id, 'strategy', chosen);
end
$$;
comment on function api.set_player_strategy is
  'Sets how the listeners at a player the caller manages count: mean (the group''s mean taste), least_misery (each sound judged by the listener present it suits least) or fair (those served worst so far in their session weigh more).';
revoke execute on function api.set_player_strategy from public;
grant execute on function api.set_player_strategy to authenticated;
