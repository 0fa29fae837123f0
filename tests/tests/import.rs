//! `cosound-admin import` against the real stack: a faulty export is refused whole with every
//! fault named, a sound one imports (audio through the gateway), its listeners go on learning
//! as usual, a second run adds nothing, and a run killed half-way ends, once run again, with
//! the same database as one that was never interrupted.

use cosound_e2e::gateway::{unique_seed, wav};
use cosound_e2e::{
    built_binary, gateway_url, new_user, parse_vector, rpc, superuser, superuser_conninfo,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use tokio_postgres::Client;

const USERS: usize = 6;
const SONGS: usize = 3;

/// The password of the one user exported with a bcrypt hash.
const OLD_PASSWORD: &str = "kept-from-the-old-system";

fn admin_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| built_binary("cosound-gateway", "cosound-admin"))
}

/// `cosound-admin import DIR ARGS…` as an admin of the stack, with its database's owner.
fn import(admin: &str, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(admin_binary());
    command
        .arg("import")
        .arg(dir)
        .args(args)
        .env("COSOUND_GATEWAY_URL", gateway_url())
        .env("COSOUND_ADMIN_TOKEN", admin)
        .env("COSOUND_IMPORT_DATABASE_URL", superuser_conninfo());
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("cosound-admin runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON summary of a successful run: each phase with the rows it added.
fn added(output: &Output) -> Vec<(String, u64)> {
    assert!(output.status.success(), "{}", text(&output.stderr));
    let phases: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    phases
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["phase"].as_str().unwrap().to_string(),
                p["added"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A tag no other export of this run uses; every id, address, name and code carries it.
fn tag() -> String {
    format!("I{:08X}", unique_seed() & 0xFFFF_FFFF)
}

/// Writes an export of `votes` votes for `tag` and returns its folder. The audio depends on
/// `audio_seed` only, so two exports with the same seed hold the same sounds. With `faulty`,
/// it has a rating of 7, a taste of 4 numbers, a missing and a corrupt audio file and a vote
/// for an unknown song.
fn export(tag: &str, audio_seed: u64, votes: usize, faulty: bool, hash: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cosound-import-{tag}"));
    std::fs::create_dir_all(dir.join("audio")).unwrap();
    let write = |name: &str, lines: Vec<String>| {
        std::fs::write(dir.join(name), lines.join("\n") + "\n").unwrap();
    };
    write(
        "players.csv",
        vec![
            "id,name".into(),
            format!("{tag}-p1,{tag} lobby"),
            format!("{tag}-p2,{tag} café"),
        ],
    );
    write(
        "check_in_codes.csv",
        vec!["player_id,code".into(), format!("{tag}-p1,{tag}-1")],
    );
    let mut users = vec!["id,email,display_name,password_hash".to_string()];
    for i in 1..=USERS {
        let password = if i == 1 { hash } else { "" };
        users.push(format!(
            "{tag}-u{i},{tag}-u{i}@import.test,Listener {i},{password}"
        ));
    }
    write("users.csv", users);
    let mut tastes = vec!["user_id,vector".to_string()];
    for i in 1..=4 {
        let vector = if faulty && i == 3 {
            "[1,0,0,0]".to_string()
        } else {
            format!("[{i},1,0,{},0.5]", 4 - i)
        };
        tastes.push(format!("{tag}-u{i},\"{vector}\""));
    }
    write("preferences.csv", tastes);
    let mut songs = vec!["id,title,type,path".to_string()];
    for i in 1..=SONGS {
        std::fs::write(
            dir.join(format!("audio/{i}.wav")),
            wav(1.0, 22_050, audio_seed + i as u64),
        )
        .unwrap();
        let kind = if i == SONGS {
            "instrumental"
        } else {
            "soundscape"
        };
        songs.push(format!("{tag}-s{i},Song {i},{kind},audio/{i}.wav"));
    }
    if faulty {
        songs.push(format!("{tag}-s4,Missing,soundscape,audio/missing.wav"));
        let mut corrupt = wav(1.0, 22_050, audio_seed + 4);
        corrupt[12..60].fill(0x5a);
        std::fs::write(dir.join("audio/corrupt.wav"), corrupt).unwrap();
        songs.push(format!("{tag}-s5,Corrupt,soundscape,audio/corrupt.wav"));
    }
    write("songs.csv", songs);
    let mut lines = vec!["id,user_id,song_id,player_id,rating,voted_at".to_string()];
    for k in 0..votes {
        let user = k % USERS + 1;
        let song = if faulty && k == 4 {
            "404".to_string()
        } else {
            (k % SONGS + 1).to_string()
        };
        let player = match k % 5 {
            0 => String::new(),
            n => format!("{tag}-p{}", n % 2 + 1),
        };
        let rating = match k % 7 {
            _ if faulty && k == 2 => "7".to_string(),
            5 => "like".to_string(),
            6 => "dislike".to_string(),
            n => (n % 5 + 1).to_string(),
        };
        let (hour, minute) = (k / 60 % 24, k % 60);
        lines.push(format!(
            "{tag}-v{k},{tag}-u{user},{tag}-s{song},{player},{rating},2024-05-{:02}T{hour:02}:{minute:02}:00+02:00",
            k / 1440 % 28 + 1
        ));
    }
    write("votes.csv", lines);
    dir
}

/// What the import wrote for `tag`, one line per row, with the tag written `T` and nothing of
/// Cosound's own ids: two imports of the same export under two tags give the same lines.
async fn snapshot(db: &Client, tag: &str) -> Vec<String> {
    let like = format!("{tag}-%");
    let queries = [
        "select 'player', m.original_id, p.name,
                coalesce(string_agg(c.code, ' ' order by c.code), '')
           from cosound.imported_players m join cosound.players p on p.id = m.player_id
           left join cosound.checkin_codes c on c.player_id = p.id
          where m.original_id like $1 group by m.original_id, p.name",
        "select 'user', m.original_id, u.email,
                coalesce(pr.display_name, '') || ' ' || coalesce(pr.preference::text, 'none') || ' '
                || (u.encrypted_password is not null)::text
           from cosound.imported_users m join auth.users u on u.id = m.user_id
           join cosound.profiles pr on pr.id = u.id
          where m.original_id like $1",
        "select 'song', m.original_id, s.type::text,
                s.embedding::text || ' ' || s.duration_ms || ' ' || s.loudness_gain_db
           from cosound.imported_songs m join cosound.songs s on s.id = m.song_id
          where m.original_id like $1",
        "select 'vote', m.original_id, um.original_id || ' ' || sm.original_id,
                coalesce(pm.original_id, '') || ' ' || v.rating || ' '
                || to_char(v.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') || ' ' || v.imported
           from cosound.imported_votes m join cosound.votes v on v.id = m.vote_id
           join cosound.imported_users um on um.user_id = v.listener_id
           join cosound.imported_songs sm on sm.song_id = v.song_id and sm.original_id like $1
           left join cosound.imported_players pm on pm.player_id = v.player_id
          where m.original_id like $1",
    ];
    let mut lines = Vec::new();
    for query in queries {
        for row in db.query(query, &[&like]).await.unwrap() {
            let line: Vec<String> = (0..4).map(|i| row.get::<_, String>(i)).collect();
            let line = line.join(" ");
            lines.push(line.replace(tag, "T").replace(&tag.to_lowercase(), "T"));
        }
    }
    lines.sort();
    lines
}

/// Rows anywhere in Cosound that carry `tag`.
async fn rows_with(db: &Client, tag: &str) -> i64 {
    db.query_one(
        "select (select count(*) from auth.users where email ilike $1)
              + (select count(*) from cosound.players where name like $1)
              + (select count(*) from cosound.checkin_codes where code like $1)
              + (select count(*) from cosound.imported_players where original_id like $1)
              + (select count(*) from cosound.imported_users where original_id like $1)
              + (select count(*) from cosound.imported_songs where original_id like $1)
              + (select count(*) from cosound.imported_votes where original_id like $1)",
        &[&format!("%{tag}%")],
    )
    .await
    .unwrap()
    .get(0)
}

async fn bcrypt(db: &Client, password: &str) -> String {
    db.query_one("select extensions.hash_password($1)", &[&password])
        .await
        .unwrap()
        .get(0)
}

async fn sign_in(email: &str, password: &str) -> String {
    let (status, session) = rpc(
        None,
        "sign_in",
        &json!({"email": email, "password": password}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{email}: {session}");
    session["access_token"].as_str().unwrap().to_string()
}

async fn taste(db: &Client, email: &str) -> Vec<f32> {
    let text: String = db
        .query_one(
            "select p.preference::text from cosound.profiles p join auth.users u using (id)
              where u.email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0);
    parse_vector(&Value::String(text))
}

/// What the room's queue aims at, refreshed now.
async fn room_target(db: &Client, player: i64) -> Vec<f32> {
    db.query_one("select extensions.refresh_queue($1)", &[&player])
        .await
        .unwrap();
    let text: String = db
        .query_one(
            "select target::text from cosound.queue_state where player_id = $1",
            &[&player],
        )
        .await
        .unwrap()
        .get(0);
    parse_vector(&Value::String(text))
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[tokio::test]
async fn a_faulty_export_is_refused_whole_with_every_fault_named() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let tag = tag();
    let dir = export(
        &tag,
        unique_seed(),
        12,
        true,
        &bcrypt(&db, OLD_PASSWORD).await,
    );

    let output = run(import(&admin, &dir, &[]));
    assert!(!output.status.success());
    let errors = text(&output.stderr);
    for fault in [
        // Line 1 is the header, so row k is on line k + 2.
        "votes.csv:4: the rating \"7\" is neither 1 to 5 nor like or dislike".to_string(),
        "preferences.csv:4: the vector \"[1,0,0,0]\" has 4 numbers; a taste has 5".to_string(),
        "songs.csv:5: the audio file audio/missing.wav is missing".to_string(),
        "songs.csv:6: the audio file audio/corrupt.wav cannot be decoded".to_string(),
        format!("votes.csv:6: no song has the id \"{tag}-s404\""),
        "5 problem(s)".to_string(),
        "nothing was written".to_string(),
    ] {
        assert!(errors.contains(&fault), "{fault:?} is not in:\n{errors}");
    }
    assert_eq!(
        rows_with(&db, &tag).await,
        0,
        "nothing of {tag} was written"
    );
}

#[tokio::test]
async fn a_sound_export_imports_and_its_listeners_go_on_learning() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let tag = tag();
    let dir = export(
        &tag,
        unique_seed(),
        40,
        false,
        &bcrypt(&db, OLD_PASSWORD).await,
    );

    let first = added(&run(import(&admin, &dir, &["--json"])));
    let expected = [
        ("check", 0),
        ("players", 2),
        ("users", USERS as u64),
        ("songs", SONGS as u64),
        ("votes", 40),
        ("first passwords", USERS as u64 - 1),
    ];
    let expected: Vec<(String, u64)> = expected.iter().map(|(p, n)| (p.to_string(), *n)).collect();
    assert_eq!(first, expected);
    let imported = snapshot(&db, &tag).await;
    assert_eq!(imported.len(), 2 + USERS + SONGS + 40, "{imported:#?}");
    // The songs went through the gateway: placed by the model and measured.
    let placed: i64 = db
        .query_one(
            "select count(*) from cosound.imported_songs m join cosound.songs s on s.id = m.song_id
              where m.original_id like $1 and s.embedding is not null and s.content_sha256 is not null",
            &[&format!("{tag}-%")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(placed, SONGS as i64);
    // Tastes are as given (at unit length): the imported votes did not move them again.
    let given = [2.0f32, 1.0, 0.0, 2.0, 0.5];
    let length = given.iter().map(|x| x * x).sum::<f32>().sqrt();
    // Addresses are kept in lower case, as sign-up keeps them.
    let u2 = format!("{tag}-u2@import.test").to_lowercase();
    assert!(close(&taste(&db, &u2).await, &given.map(|x| x / length)));

    // A second run adds nothing and changes nothing.
    let again = added(&run(import(&admin, &dir, &["--json"])));
    assert!(again.iter().all(|(_, n)| *n == 0), "{again:?}");
    assert_eq!(snapshot(&db, &tag).await, imported);

    // The exported hash signs in with the old password; the others with their first one.
    sign_in(
        &format!("{tag}-u1@import.test").to_lowercase(),
        OLD_PASSWORD,
    )
    .await;
    let passwords = std::fs::read_to_string(dir.join("first-passwords.csv")).unwrap();
    assert_eq!(passwords.lines().count(), USERS - 1, "{passwords}");
    let password = passwords
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{u2},")))
        .expect("u2 has a first password");
    let listener = sign_in(&u2, password).await;

    // At the imported room, a new rating moves the imported taste, and the room follows.
    let (status, session) = rpc(
        Some(&listener),
        "check_in",
        &json!({"code": format!("{tag}-1")}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let player: i64 = session["player_id"].as_i64().expect("the session's player");
    let before = taste(&db, &u2).await;
    assert!(close(&room_target(&db, player).await, &before));
    let song: i64 = db
        .query_one(
            "select song_id from cosound.imported_songs where original_id = $1",
            &[&format!("{tag}-s1")],
        )
        .await
        .unwrap()
        .get(0);
    let (status, answer) = rpc(
        Some(&listener),
        "rate",
        &json!({"rating": 5, "song_id": song}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let after = taste(&db, &u2).await;
    assert!(!close(&after, &before), "the rating moved the taste");
    assert!(
        close(&room_target(&db, player).await, &after),
        "the room aims at it"
    );
}

#[tokio::test]
async fn a_run_killed_half_way_and_run_again_ends_as_an_uninterrupted_one() {
    const VOTES: usize = 3_000;
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let hash = bcrypt(&db, OLD_PASSWORD).await;
    let audio = unique_seed();
    let (whole, killed) = (tag(), tag());
    let whole_dir = export(&whole, audio, VOTES, false, &hash);
    let killed_dir = export(&killed, audio, VOTES, false, &hash);

    added(&run(import(&admin, &whole_dir, &["--json"])));

    let mut interrupted = import(&admin, &killed_dir, &["--batch-size", "50"]);
    let mut child = interrupted
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = "select count(*) from cosound.imported_votes where original_id like $1";
    let pattern = format!("{killed}-%");
    let written = loop {
        let written: i64 = db.query_one(count, &[&pattern]).await.unwrap().get(0);
        if written > 0 {
            child.kill().unwrap();
            child.wait().unwrap();
            break written;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let left: i64 = db.query_one(count, &[&pattern]).await.unwrap().get(0);
    assert!(
        left < VOTES as i64,
        "killed with {written} of {VOTES} votes in, {left} after"
    );

    added(&run(import(
        &admin,
        &killed_dir,
        &["--json", "--batch-size", "50"],
    )));
    assert_eq!(snapshot(&db, &killed).await, snapshot(&db, &whole).await);
}

#[tokio::test]
async fn the_example_in_the_repository_imports() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../supabase/import-example");
    // The first passwords go to a file of the test's, not into the repository.
    let passwords = tempfile::tempdir().unwrap();
    let file = passwords.path().join("first-passwords.csv");
    let args = ["--json", "--first-passwords", file.to_str().unwrap()];
    added(&run(import(&admin, &example, &args)));
    let votes: i64 = db
        .query_one(
            "select count(*) from cosound.imported_votes m join cosound.votes v on v.id = m.vote_id
              where m.original_id like 'v_' and v.imported",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(votes, 8);
    let ines = taste(&db, "ines@earlier.example").await;
    let given = [0.9f32, 0.3, 0.1, 0.2, 0.1];
    let length = given.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(close(&ines, &given.map(|x| x / length)), "{ines:?}");
}
