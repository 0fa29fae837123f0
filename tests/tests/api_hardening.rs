//! What an attacker or a careless client tried against the API, refused as it should be:
//! input never reaches the HTTP status line, answers do not tell who has an account or a code,
//! a room cannot be swayed from outside it, and every list and text has a bound.

use cosound_e2e::{api_url, gateway_url, get, new_player, new_song, new_user, rpc, superuser};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The raw response to a POST, as bytes on the wire: PostgREST's status line included.
async fn raw_post(path: &str, token: Option<&str>, body: &str) -> String {
    let address = api_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         {authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// The status line and header names of a raw response.
fn head(response: &str) -> (&str, Vec<String>) {
    let head = response.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap();
    let names = lines
        .map(|line| line.split(':').next().unwrap().to_ascii_lowercase())
        .collect();
    (status, names)
}

const PLANTED: &str = "X\r\nSet-Cookie: planted=1\r\n\r\n<html>planted</html>";

#[tokio::test]
async fn input_never_reaches_the_status_line() {
    let db = superuser().await;
    let (_, listener) = new_user(&db, &[]).await;
    let (_, manager) = new_user(&db, &["manager"]).await;
    let long_code = "A".repeat(200_000);
    let cases = [
        (
            "/rpc/sign_up",
            None,
            json!({"email": PLANTED, "password": "long-enough-1"}),
        ),
        ("/rpc/check_in", Some(&listener), json!({"code": PLANTED})),
        ("/rpc/check_in", Some(&listener), json!({"code": long_code})),
        (
            "/rpc/revoke_checkin_code",
            Some(&manager),
            json!({"code": PLANTED}),
        ),
        (
            "/rpc/revoke_checkin_code",
            Some(&manager),
            json!({"code": long_code}),
        ),
        (
            "/rpc/create_player",
            Some(&manager),
            json!({"name": PLANTED, "manager_email": PLANTED}),
        ),
    ];
    for (path, token, body) in cases {
        let response = raw_post(path, token.map(String::as_str), &body.to_string()).await;
        let (status, headers) = head(&response);
        assert!(
            status.starts_with("HTTP/1.1 4") && status.len() < 80,
            "{path}: status line {:?}",
            &status[..status.len().min(120)]
        );
        assert!(
            !headers.iter().any(|name| name == "set-cookie"),
            "{path}: a planted header arrived: {headers:?}"
        );
        // The input may only come back JSON-escaped, inside the body.
        assert!(
            !response.contains("\r\n\r\n<html>planted"),
            "{path}: a planted body arrived"
        );
    }
}

#[tokio::test]
async fn refusals_with_a_status_of_their_own_go_through_one_function() {
    // Every `PTnnn` error is raised by cosound.refuse, which keeps its message status-line
    // safe; a function raising one itself could carry input into the status line again.
    let db = superuser().await;
    let raising: Vec<String> = db
        .query(
            "select p.oid::regprocedure::text from pg_proc p
              where p.pronamespace::regnamespace::text in ('api', 'cosound', 'auth')
                and p.prosrc ~* 'sqlstate\\s+''PT'
                and p.oid <> 'cosound.refuse'::regproc",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(raising, Vec::<String>::new());
    let refused = db
        .execute(
            "select cosound.refuse(404, e'no such thing\\r\\nSet-Cookie: x=1', 'what was sent')",
            &[],
        )
        .await
        .unwrap_err();
    let error = refused.as_db_error().unwrap();
    assert_eq!(error.code().code(), "PT404");
    assert_eq!(error.message(), "no such thing Set-Cookie: x=1");
    assert_eq!(error.detail(), Some("what was sent"));
}

#[tokio::test]
async fn answers_do_not_tell_who_has_an_account_or_a_code() {
    let db = superuser().await;
    let (owner_id, owner) = new_user(&db, &["manager"]).await;
    let (_, other_manager) = new_user(&db, &["manager"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let player = new_player(&db, Some(&owner_id)).await;
    let (_, code) = rpc(
        Some(&owner),
        "new_checkin_code",
        &json!({"player_id": player}).to_string(),
    )
    .await;
    let code = code["code"].as_str().unwrap();

    // Another manager's real code and a made-up one get the same answer, and the code lives.
    let real = rpc(
        Some(&other_manager),
        "revoke_checkin_code",
        &json!({"code": code}).to_string(),
    )
    .await;
    let unknown = rpc(
        Some(&other_manager),
        "revoke_checkin_code",
        &json!({"code": "NOPE-NOPE-NOPE"}).to_string(),
    )
    .await;
    assert_eq!(
        (real.0, &real.1["message"]),
        (unknown.0, &unknown.1["message"])
    );
    assert_eq!(real.0, 404);
    let left: i64 = db
        .query_one(
            "select count(*) from cosound.checkin_codes where code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1);

    // A manager naming another user's address or an unknown one is refused alike.
    let owner_email: String = db
        .query_one(
            "select email from auth.users where id = $1::text::uuid",
            &[&owner_id],
        )
        .await
        .unwrap()
        .get(0);
    let taken = rpc(
        Some(&other_manager),
        "create_player",
        &json!({"name": "Hall", "manager_email": owner_email}).to_string(),
    )
    .await;
    let nobody = rpc(
        Some(&other_manager),
        "create_player",
        &json!({"name": "Hall", "manager_email": "nobody-here@example.test"}).to_string(),
    )
    .await;
    assert_eq!(taken, nobody);
    assert_eq!(taken.0, 403);

    // Listeners see the rooms, not who manages them; the manager sees their own.
    let (_, rooms) = cosound_e2e::get(Some(&listener), &format!("players?id=eq.{player}")).await;
    assert_eq!(rooms[0]["manager_id"], Value::Null);
    let (_, rooms) = cosound_e2e::get(Some(&owner), &format!("players?id=eq.{player}")).await;
    assert_eq!(rooms[0]["manager_id"], json!(owner_id));

    // A name too long is refused by its rule, with nothing of the caller's row in the answer.
    let (status, refusal) = rpc(
        Some(&listener),
        "set_display_name",
        &json!({"display_name": "x".repeat(41)}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refusal["message"], "display_name is 1 to 40 characters");
    assert_eq!(refusal["details"], "41 characters given");
}

#[tokio::test]
async fn a_room_takes_check_ins_by_its_code_unless_its_manager_allows_choosing_it() {
    let db = superuser().await;
    let (_, manager) = new_user(&db, &["manager"]).await;
    let (_, listener) = new_user(&db, &[]).await;
    let (status, room) = rpc(
        Some(&manager),
        "create_player",
        &json!({"name": "Quiet room"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{room}");
    let player = room["id"].as_i64().unwrap();
    let by_choice = json!({"player_id": player}).to_string();

    let (status, refusal) = rpc(Some(&listener), "check_in", &by_choice).await;
    assert_eq!(status, 403, "{refusal}");
    assert!(refusal["message"]
        .as_str()
        .unwrap()
        .contains("by its code only"));
    let open = json!({"player_id": player, "allowed": true}).to_string();
    assert_eq!(
        rpc(Some(&listener), "set_check_in_by_choice", &open)
            .await
            .0,
        403
    );
    assert_eq!(rpc(Some(&listener), "check_in", &by_choice).await.0, 403);

    let (status, answer) = rpc(Some(&manager), "set_check_in_by_choice", &open).await;
    assert_eq!((status, &answer["check_in_by_choice"]), (200, &json!(true)));
    let (_, rooms) = cosound_e2e::get(Some(&listener), &format!("players?id=eq.{player}")).await;
    assert_eq!(rooms[0]["check_in_by_choice"], true);
    assert_eq!(rpc(Some(&listener), "check_in", &by_choice).await.0, 200);
}

#[tokio::test]
async fn a_song_counts_once_a_minute_per_listener_even_when_rated_at_once() {
    let db = superuser().await;
    let (listener_id, listener) = new_user(&db, &[]).await;
    let rain = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    let wind = new_song(&db, "soundscape", "[0,0,0,1,0]").await;
    let rate = |song: i64| {
        let listener = listener.clone();
        tokio::spawn(async move {
            rpc(
                Some(&listener),
                "rate",
                &json!({"rating": 5, "song_id": song}).to_string(),
            )
            .await
        })
    };
    let mut answers = Vec::new();
    for handle in (0..20).map(|_| rate(rain)).collect::<Vec<_>>() {
        answers.push(handle.await.unwrap());
    }
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(accepted, 1, "{answers:?}");
    let refused = answers.iter().find(|(status, _)| *status == 429).unwrap();
    assert!(refused.1["message"]
        .as_str()
        .unwrap()
        .contains("less than a minute ago"));
    assert!(refused.1["details"]
        .as_str()
        .unwrap()
        .starts_with("try again in "));
    assert_eq!(
        rate(wind).await.unwrap().0,
        200,
        "another song counts at once"
    );
    let votes: i64 = db
        .query_one(
            "select count(*) from cosound.votes where listener_id = $1::text::uuid",
            &[&listener_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(votes, 2);
}

#[tokio::test]
async fn lists_and_texts_have_bounds_named_in_the_refusal() {
    let db = superuser().await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let player = new_player(&db, None).await;
    let ids: Vec<i64> = (1..=1001).collect();
    let (status, refusal) = rpc(
        Some(&admin),
        "add_to_library",
        &json!({"player_id": player, "song_ids": ids}).to_string(),
    )
    .await;
    assert_eq!(
        (status, refusal["message"].as_str()),
        (400, Some("song_ids holds at most 1000 ids per call"))
    );
    let long_address = format!("{}@example.test", "a".repeat(300));
    let (status, refusal) = rpc(
        None,
        "sign_up",
        &json!({"email": long_address, "password": "long-enough-1"}).to_string(),
    )
    .await;
    assert_eq!(
        (status, refusal["message"].as_str()),
        (400, Some("not a valid e-mail address"))
    );
    let quoted = refusal["details"].as_str().unwrap();
    assert!(
        quoted.len() < 150 && quoted.contains("313 characters"),
        "{quoted}"
    );
}

#[tokio::test]
async fn bodies_through_the_front_door_are_bounded() {
    let url = format!("{}/rest/v1/rpc/sign_in", gateway_url());
    // Just past the bound, so that the client has sent it all when the refusal comes (a
    // larger one is cut off by the same refusal, mid-send).
    let huge = format!(
        r#"{{"email": "{}", "password": "x"}}"#,
        "a".repeat(80 << 10)
    );
    let client = reqwest::Client::new();
    let announced = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(huge.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(announced.status().as_u16(), 413);
    let refusal: Value = announced.json().await.unwrap();
    assert_eq!(
        refusal["message"],
        "a request body to the API is at most 64 KiB"
    );

    // Sent in chunks, with no length announced: refused as soon as it passes the bound.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = huge
        .into_bytes()
        .chunks(1 << 12)
        .map(|chunk| Ok(chunk.to_vec()))
        .collect();
    let streamed = client
        .post(&url)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status().as_u16(), 413);
}

#[tokio::test]
async fn a_read_returns_at_most_1000_rows() {
    let db = superuser().await;
    let (manager_id, manager) = new_user(&db, &["manager"]).await;
    let player = new_player(&db, Some(&manager_id)).await;
    let song = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    db.execute(
        "insert into cosound.plays (player_id, song_id, played_at)
         select $1, $2, now() - make_interval(secs => g) from generate_series(1, 1001) g",
        &[&player, &song],
    )
    .await
    .unwrap();
    let (status, rows) = get(
        Some(&manager),
        &format!("play_history?player_id=eq.{player}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(rows.as_array().unwrap().len(), 1000);
}
