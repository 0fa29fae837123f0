//! The database's contract with its callers, checked where it is kept: what each API role sees
//! of every private table under row-level security, that none of them writes a table directly
//! (an admin included: every change goes through an `api.*` function), and the refusals of the
//! `api.*` functions. Each call runs as PostgREST would run it: `set local role` to the token's
//! role and `request.jwt.claims` set to its claims. The end-to-end tests check the same
//! through HTTP; these name the rule that answers.

use pgrx::prelude::*;

#[pg_schema]
mod tests {
    use crate::fixture;
    use pgrx::prelude::*;

    /// Who calls: the role PostgREST switches to and the token's claims.
    #[derive(Clone, Copy)]
    enum Caller {
        Anonymous,
        /// A signed-in user; with an id that has no account, a token outliving its user.
        User(pgrx::Uuid),
        /// A player device's token.
        Device(i64),
    }

    /// Two listeners checked in at two rooms, a manager of the first room, an admin, and
    /// something in every table: votes, plays, a library, a code, failures, a key, queues.
    struct World {
        listener: pgrx::Uuid,
        other_listener: pgrx::Uuid,
        manager: pgrx::Uuid,
        admin: pgrx::Uuid,
        /// The manager's room, where `listener` is checked in.
        room: i64,
        /// A room nobody manages, where `other_listener` is checked in.
        other_room: i64,
        /// Started at `room` and not ended; in its library.
        rain: i64,
        /// In the room's library, never started there.
        piano: i64,
        /// In no library.
        fire: i64,
    }

    fn world() -> World {
        fixture::schema();
        let rain = fixture::song("soundscape", "[1,0,0,0,0]");
        let piano = fixture::song("instrumental", "[0.9,0.1,0,0,0]");
        let fire = fixture::song("soundscape", "[0,0,0,0,1]");
        let listener = fixture::listener(Some("[1,0,0,0,0]"));
        let other_listener = fixture::listener(Some("[0,0,0,0,1]"));
        let manager = fixture::listener(None);
        let admin = fixture::listener(None);
        let room = fixture::player();
        let other_room = fixture::player();
        Spi::run_with_args(
            "insert into cosound.staff (user_id, role) values ($1, 'manager'), ($2, 'admin');
             update cosound.players set owner_id = $1 where id = $3;
             insert into cosound.player_library (player_id, song_id) values ($3, $5), ($3, $6);
             insert into cosound.checkin_codes (code, player_id) values ('CONTRACT-1', $3);
             insert into cosound.plays (player_id, song_id) values ($3, $5), ($4, $6);
             insert into cosound.play_failures (player_id, song_id) values ($3, $6), ($4, $5);
             insert into cosound.player_keys (player_id, key_hash)
                  values ($3, sha256('a key'::bytea));
             update auth.users set email = 'admin@contract.test' where id = $2;",
            &[
                manager.into(),
                admin.into(),
                room.into(),
                other_room.into(),
                rain.into(),
                piano.into(),
            ],
        )
        .expect("the world is set up");
        fixture::check_in(listener, room);
        fixture::check_in(other_listener, other_room);
        Spi::run_with_args(
            "insert into cosound.votes (listener_id, song_id, player_id, rating)
             values ($1, $3, $4, 5), ($2, $3, $5, 1)",
            &[
                listener.into(),
                other_listener.into(),
                rain.into(),
                room.into(),
                other_room.into(),
            ],
        )
        .expect("the votes are stored");
        fixture::refresh(room);
        fixture::refresh(other_room);
        // Runs as whoever calls it: the statement's rows, or its refusal.
        Spi::run(
            "create schema contract;
             grant usage on schema contract to public;
             create function contract.outcome(statement text) returns text
             language plpgsql as $$
             declare
               n bigint;
             begin
               execute statement;
               get diagnostics n = row_count;
               return n::text;
             exception when others then
               return sqlstate || ' ' || sqlerrm;
             end $$;",
        )
        .expect("the contract's harness is created");
        World {
            listener,
            other_listener,
            manager,
            admin,
            room,
            other_room,
            rain,
            piano,
            fire,
        }
    }

    /// What `statement` does when `caller` runs it: the number of rows it returned or changed,
    /// or its SQLSTATE and message. A refused statement is rolled back on its own.
    fn outcome(caller: Caller, statement: &str) -> String {
        let (role, claims) = match caller {
            Caller::Anonymous => ("anon", "{\"role\": \"anon\"}".to_string()),
            Caller::User(id) => (
                "authenticated",
                Spi::get_one_with_args::<String>(
                    "select json_build_object('role', 'authenticated', 'sub', $1)::text",
                    &[id.into()],
                )
                .unwrap()
                .unwrap(),
            ),
            Caller::Device(player) => (
                "player",
                format!("{{\"role\": \"player\", \"player_id\": {player}}}"),
            ),
        };
        Spi::run_with_args(
            &format!("set local role {role}; select set_config('request.jwt.claims', $1, true)"),
            &[claims.into()],
        )
        .unwrap();
        let outcome =
            Spi::get_one_with_args::<String>("select contract.outcome($1)", &[statement.into()]);
        Spi::run("reset role; select set_config('request.jwt.claims', '', true)").unwrap();
        outcome.unwrap().unwrap()
    }

    /// Each caller's outcome of `statement` against what the contract says: a number of rows
    /// exactly, a refusal by its SQLSTATE and the start of its message. Every case is run and
    /// every broken one reported.
    fn check(cases: &[(&str, Caller, &str, &str)]) {
        let mut wrong = Vec::new();
        for &(who, caller, statement, expected) in cases {
            let got = outcome(caller, statement);
            let holds = if expected.parse::<i64>().is_ok() {
                got == expected
            } else {
                got.starts_with(expected)
            };
            if !holds {
                wrong.push(format!(
                    "{who}: {statement}\n  expected {expected}\n  got      {got}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    fn count(sql: &str) -> String {
        Spi::get_one::<i64>(sql).unwrap().unwrap().to_string()
    }

    #[pg_test]
    fn each_role_sees_only_its_rows() {
        let w = world();
        let listener = Caller::User(w.listener);
        let other = Caller::User(w.other_listener);
        let manager = Caller::User(w.manager);
        let admin = Caller::User(w.admin);
        let device = Caller::Device(w.room);
        let queue = |player: i64| {
            count(&format!(
                "select count(*) from cosound.player_queue where player_id = {player}"
            ))
        };
        let (here, there) = (queue(w.room), queue(w.other_room));
        assert!(here != "0" && there != "0", "both rooms have a queue");
        let both = (here.parse::<i64>().unwrap() + there.parse::<i64>().unwrap()).to_string();
        let versions = |player: &str| {
            count(&format!(
                "select count(*) from cosound.queue_versions where player_id {player}"
            ))
        };
        let (versions_here, versions_all) =
            (versions(&format!("= {}", w.room)), versions("is not null"));
        assert_ne!(versions_here, "0", "the room's queue has a version");
        let denied = "42501 permission denied for table";
        // Anonymous callers may not even look into the private schema.
        let no_schema = "42501 permission denied for schema cosound";
        let select = |table: &str| format!("select from cosound.{table}");
        let mut cases = Vec::new();
        let tables: &[(&str, [&str; 6])] = &[
            // anonymous, listener, other listener, manager, admin, the room's device
            ("songs", [no_schema, "3", "3", "3", "3", "3"]),
            ("profiles", [no_schema, "1", "1", "1", "4", denied]),
            ("staff", [no_schema, "0", "0", "1", "2", denied]),
            // Rooms are listed for listeners to check in by choice; a device sees itself.
            ("players", [no_schema, "2", "2", "2", "2", "1"]),
            ("player_library", [no_schema, "0", "0", "2", "2", "2"]),
            // Sessions and votes are their listener's alone, an admin's included.
            ("sessions", [no_schema, "1", "1", "0", "0", denied]),
            ("votes", [no_schema, "1", "1", "0", "0", denied]),
            ("plays", [no_schema, "0", "0", "1", "2", "1"]),
            ("checkin_codes", [no_schema, "0", "0", "1", "1", denied]),
            ("play_failures", [no_schema, "0", "0", "1", "2", denied]),
            ("player_keys", [no_schema, "0", "0", "1", "1", denied]),
            ("queue_state", [no_schema, "1", "1", "1", "2", "1"]),
            (
                "player_queue",
                [no_schema, &here, &there, &here, &both, &here],
            ),
            (
                "queue_versions",
                [no_schema, "0", "0", &versions_here, &versions_all, denied],
            ),
            // Kept for the refresh, the token policy and the import only.
            (
                "last_plays",
                [no_schema, denied, denied, denied, denied, denied],
            ),
            (
                "token_cutoffs",
                [no_schema, denied, denied, denied, denied, denied],
            ),
            (
                "imported_users",
                [no_schema, denied, denied, denied, denied, denied],
            ),
            (
                "imported_votes",
                [no_schema, denied, denied, denied, denied, denied],
            ),
        ];
        let callers = [
            ("anonymous", Caller::Anonymous),
            ("listener", listener),
            ("other listener", other),
            ("manager", manager),
            ("admin", admin),
            ("device", device),
        ];
        let statements: Vec<(String, [&str; 6])> = tables
            .iter()
            .map(|(table, expected)| (select(table), *expected))
            .collect();
        for (statement, expected) in &statements {
            for (i, (who, caller)) in callers.iter().enumerate() {
                cases.push((*who, *caller, statement.as_str(), expected[i]));
            }
        }
        check(&cases);
    }

    #[pg_test]
    fn no_api_role_writes_a_table_directly() {
        let w = world();
        let writes = [
            "insert into cosound.votes (listener_id, song_id, rating) select id, 1, 5 from cosound.profiles",
            "update cosound.profiles set preference = '[0,1,0,0,0]'",
            "delete from cosound.songs",
            "insert into cosound.staff (user_id, role) select id, 'admin' from cosound.profiles",
            "update cosound.players set owner_id = null",
            "delete from cosound.sessions",
            "insert into cosound.plays (player_id, song_id) select id, 1 from cosound.players",
            "delete from cosound.player_queue",
            "update cosound.queue_state set version = 0",
        ];
        let mut cases = Vec::new();
        for statement in writes {
            cases.push((
                "anonymous",
                Caller::Anonymous,
                statement,
                "42501 permission denied for schema cosound",
            ));
            for (who, caller) in [
                ("listener", Caller::User(w.listener)),
                ("manager", Caller::User(w.manager)),
                ("admin", Caller::User(w.admin)),
                ("device", Caller::Device(w.room)),
            ] {
                cases.push((who, caller, statement, "42501 permission denied for table"));
            }
        }
        check(&cases);
    }

    #[pg_test]
    fn the_api_refuses_with_the_rule_that_answers() {
        let w = world();
        let listener = Caller::User(w.listener);
        let manager = Caller::User(w.manager);
        let admin = Caller::User(w.admin);
        let device = Caller::Device(w.room);
        let gone = Caller::User(pgrx::Uuid::from_bytes([7; 16]));
        let other_room = format!("{}", w.other_room);
        let room = format!("{}", w.room);
        let piano_not_started = format!("PT409 song {} was not reported as started", w.piano);
        let fire_not_here = format!(
            "PT409 song {} is neither in this player's queue nor in its library",
            w.fire
        );
        let statements: Vec<(&str, Caller, String, &str)> = vec![
            // Who may call at all: EXECUTE is granted per role.
            (
                "anonymous",
                Caller::Anonymous,
                "select api.rate(5)".into(),
                "42501 permission denied for function rate",
            ),
            (
                "anonymous",
                Caller::Anonymous,
                "select api.check_in(code => 'CONTRACT-1')".into(),
                "42501 permission denied for function check_in",
            ),
            (
                "device",
                device,
                "select api.rate(5)".into(),
                "42501 permission denied for function rate",
            ),
            (
                "device",
                device,
                "select api.create_player('x')".into(),
                "42501 permission denied for function create_player",
            ),
            (
                "listener",
                listener,
                "select api.heartbeat()".into(),
                "42501 only a player device may do this",
            ),
            (
                "a deleted user",
                gone,
                "select api.check_in(code => 'CONTRACT-1')".into(),
                "PT401 this token's user has no account here",
            ),
            // A listener's mistakes.
            (
                "listener",
                listener,
                format!("select api.check_in(player_id => {room}, code => 'CONTRACT-1')"),
                "22023 give either player_id or code (not both)",
            ),
            (
                "listener",
                listener,
                "select api.check_in(code => 'NO-SUCH-CODE')".into(),
                "PT404 no player has this check-in code",
            ),
            (
                "listener",
                listener,
                "select api.check_in(player_id => 0)".into(),
                "PT404 no player with id 0",
            ),
            (
                "listener",
                listener,
                "select api.rate(7)".into(),
                "22023 a rating is a whole number from 1 to 5, not 7",
            ),
            (
                "listener",
                listener,
                "select api.rate(3, song_id => 0)".into(),
                "PT404 no song with id 0",
            ),
            (
                "listener",
                listener,
                "select api.my_recommendations(0)".into(),
                "22023 k is how many songs, from 1 to 100, not 0",
            ),
            (
                "manager",
                manager,
                "select api.my_recommendations(5)".into(),
                "PT409 no taste yet: rate a few sounds or take the survey first",
            ),
            (
                "manager",
                manager,
                "select api.rate(4)".into(),
                "PT409 you are not checked in at a player",
            ),
            (
                "listener",
                listener,
                "select api.survey(0, 0, 0, 0, 0)".into(),
                "22023 invalid survey answers: all weights are 0",
            ),
            (
                "listener",
                listener,
                "select api.survey('NaN', 0, 0, 0, 0)".into(),
                "22023 invalid survey answers: vector components must be finite",
            ),
            // A device's mistakes.
            (
                "device",
                device,
                "select api.report_play(0, 'start')".into(),
                "PT404 no song with id 0",
            ),
            (
                "device",
                device,
                format!("select api.report_play({}, 'end')", w.piano),
                &piano_not_started,
            ),
            (
                "device",
                device,
                format!("select api.report_play({}, 'start')", w.fire),
                &fire_not_here,
            ),
            (
                "device",
                device,
                format!("select api.report_play({}, 'rewind')", w.rain),
                "22023 event is start, end or failed, not 'rewind'",
            ),
            // Managing: a listener manages nothing, a manager only their own rooms.
            (
                "listener",
                listener,
                "select api.create_player('x')".into(),
                "42501 only an admin or a manager may create players",
            ),
            (
                "listener",
                listener,
                format!("select api.rename_player({room}, 'x')"),
                "42501 only an admin or the manager of player",
            ),
            (
                "manager",
                manager,
                format!("select api.rename_player({other_room}, 'x')"),
                "42501 only an admin or the manager of player",
            ),
            (
                "manager",
                manager,
                "select api.rename_player(0, 'x')".into(),
                "PT404 no player with id 0",
            ),
            (
                "manager",
                manager,
                format!("select api.add_to_library({other_room}, array[1])"),
                "42501 only an admin or the manager of player",
            ),
            (
                "manager",
                manager,
                format!("select api.add_to_library({room}, array[null]::bigint[])"),
                "22023 song_ids is a list of song ids, with no nulls",
            ),
            (
                "manager",
                manager,
                format!("select api.add_to_library({room}, array[0])"),
                "PT404 no song with id 0",
            ),
            (
                "manager",
                manager,
                format!("select api.remove_from_library({other_room}, array[1])"),
                "42501 only an admin or the manager of player",
            ),
            (
                "manager",
                manager,
                format!("select api.new_checkin_code({other_room})"),
                "42501 only an admin or the manager of player",
            ),
            // Whether a code exists is not told to those who do not manage its player.
            (
                "listener",
                listener,
                "select api.revoke_checkin_code('CONTRACT-1')".into(),
                "PT404 no check-in code like this at a player you manage",
            ),
            (
                "manager",
                manager,
                "select api.revoke_checkin_code('NO-SUCH-CODE')".into(),
                "PT404 no check-in code like this at a player you manage",
            ),
            (
                "manager",
                manager,
                format!("select api.set_check_in_by_choice({room}, null)"),
                "22023 allowed is true or false",
            ),
            (
                "manager",
                manager,
                format!("select api.set_player_strategy({other_room}, 'mean')"),
                "42501 only an admin or the manager of player",
            ),
            (
                "manager",
                manager,
                format!("select api.set_player_strategy({room}, 'loudest')"),
                "PT400 a group strategy is mean, least_misery or fair",
            ),
            (
                "manager",
                manager,
                format!("select api.set_player_time_zone({room}, 'Mars/Olympus')"),
                "PT400 a time zone is a name from the IANA database",
            ),
            (
                "manager",
                manager,
                format!("select api.set_player_schedule({other_room}, '[]')"),
                "42501 only an admin or the manager of player",
            ),
            (
                "manager",
                manager,
                format!("select api.set_player_schedule({room}, '{{\"days\": [1]}}')"),
                "PT400 a schedule is a JSON array of time blocks",
            ),
            (
                "manager",
                manager,
                format!(
                    "select api.set_player_schedule({room}, \
                     '[{{\"days\": [8], \"from\": \"09:00\", \"to\": \"12:00\"}}]')"
                ),
                "PT400 a block's days are ISO weekdays, 1 (Monday) to 7 (Sunday)",
            ),
            (
                "manager",
                manager,
                format!(
                    "select api.set_player_schedule({room}, \
                     '[{{\"days\": [1], \"from\": \"12:00\", \"to\": \"09:00\"}}]')"
                ),
                "PT400 a block ends after it starts",
            ),
            (
                "manager",
                manager,
                format!(
                    "select api.set_player_schedule({room}, \
                     '[{{\"days\": [1], \"from\": \"09:00\", \"to\": \"12:00\", \"volume_cap\": 2}}]')"
                ),
                "PT400 a volume cap is a number from 0 to 1",
            ),
            (
                "listener",
                listener,
                format!("select api.set_display_name('{}')", "x".repeat(41)),
                "PT400 display_name is 1 to 40 characters",
            ),
            (
                "listener",
                listener,
                "select api.checked_in()".into(),
                "42501 only an admin or a manager may see who is checked in",
            ),
            // Running everything is an admin's.
            (
                "manager",
                manager,
                format!("select api.set_player_manager({room}, 'x@example.test')"),
                "42501 only an admin may do this",
            ),
            (
                "manager",
                manager,
                format!("select api.delete_player({room})"),
                "42501 only an admin may do this",
            ),
            (
                "manager",
                manager,
                "select api.grant_role('x@example.test', 'admin')".into(),
                "42501 only an admin may do this",
            ),
            (
                "manager",
                manager,
                "select api.staff_members()".into(),
                "42501 only an admin may do this",
            ),
            (
                "manager",
                manager,
                format!("select api.update_song({}, title => 'x')", w.rain),
                "42501 only an admin may do this",
            ),
            (
                "manager",
                manager,
                "select api.revoke_tokens('x@example.test')".into(),
                "42501 only an admin may do this",
            ),
            (
                "admin",
                admin,
                "select api.grant_role('nobody@example.test', 'manager')".into(),
                "PT404 no user with the e-mail address given",
            ),
            (
                "admin",
                admin,
                "select api.revoke_role('admin@contract.test', 'admin')".into(),
                "PT409 an admin cannot revoke their own admin role",
            ),
            (
                "admin",
                admin,
                "select api.delete_player(0)".into(),
                "PT404 no player with id 0",
            ),
            (
                "admin",
                admin,
                "select api.update_song(0, title => 'x')".into(),
                "PT404 no song with id 0",
            ),
        ];
        let cases: Vec<(&str, Caller, &str, &str)> = statements
            .iter()
            .map(|(who, caller, statement, expected)| {
                (*who, *caller, statement.as_str(), *expected)
            })
            .collect();
        check(&cases);
    }
}
