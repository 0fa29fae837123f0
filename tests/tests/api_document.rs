//! The API as it describes itself (the OpenAPI document at `/`) and as it refuses writes to
//! its views: each role is offered only what it may do, every offered function says what it
//! answers where its type tells, and a write to a read-only view gets 405 with a message and
//! `Allow`, never PostgreSQL's "cannot update view" as a 500, and changes nothing.

use cosound_e2e::{api_url, get, new_player, new_song, new_user, player_token, superuser};
use serde_json::{json, Value};

async fn document(token: Option<&str>) -> Value {
    let (status, document) = get(token, "").await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["swagger"], "2.0");
    document
}

fn paths(document: &Value) -> &serde_json::Map<String, Value> {
    document["paths"]
        .as_object()
        .expect("the document has paths")
}

#[tokio::test]
async fn each_role_is_offered_only_what_it_may_do() {
    let db = superuser().await;
    let (_, listener) = new_user(&db, &[]).await;
    let (_, admin) = new_user(&db, &["admin"]).await;
    let player = player_token(new_player(&db, None).await);

    let anonymous = document(None).await;
    let offered: Vec<&String> = paths(&anonymous).keys().collect();
    assert_eq!(offered, ["/rpc/sign_in", "/rpc/sign_up"]);

    for token in [&listener, &admin, &player] {
        let document = document(Some(token)).await;
        for (path, item) in paths(&document) {
            if !path.starts_with("/rpc/") {
                // Every view is read-only: writes are the functions.
                let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
                assert_eq!(methods, ["get"], "{path}");
                assert!(document["definitions"][&path[1..]]["properties"].is_object());
            }
        }
    }
    // Staff functions are offered to every signed-in user and check the staff role inside.
    let listener_paths = document(Some(&listener)).await;
    for path in ["/my_votes", "/rpc/rate", "/rpc/create_player"] {
        assert!(paths(&listener_paths).contains_key(path), "{path}");
    }
    let player_paths = document(Some(&player)).await;
    for path in ["/player_queue", "/rpc/heartbeat"] {
        assert!(paths(&player_paths).contains_key(path), "{path}");
    }
    for path in ["/rpc/rate", "/my_votes", "/rpc/sign_in"] {
        assert!(!paths(&player_paths).contains_key(path), "{path}");
    }
}

#[tokio::test]
async fn functions_say_what_they_answer_and_changes_are_posted() {
    let db = superuser().await;
    let (_, listener) = new_user(&db, &[]).await;
    let document = document(Some(&listener)).await;
    let rpc = |name: &str| document["paths"][format!("/rpc/{name}")].clone();

    // A function that changes something is offered as POST only: GET would always fail.
    for name in ["rate", "check_in", "survey"] {
        let item = rpc(name);
        assert!(item["post"].is_object(), "{name}");
        assert!(item.get("get").is_none(), "{name}");
    }
    let rate = &rpc("rate")["post"]["parameters"][0]["schema"];
    assert_eq!(rate["required"], json!(["rating"]));
    assert_eq!(rate["properties"]["rating"]["type"], "integer");

    // A table-returning function describes its rows; a vector-returning one its text.
    let leaderboard = &rpc("leaderboard")["get"]["responses"]["200"]["schema"];
    assert_eq!(leaderboard["type"], "array");
    assert_eq!(
        leaderboard["items"]["properties"]["is_me"],
        json!({"type": "boolean"})
    );
    assert_eq!(
        leaderboard["items"]["properties"]["rank"]["type"],
        "integer"
    );
    let preview = &rpc("preference_after_rating")["post"]["responses"]["200"]["schema"];
    assert_eq!(
        preview,
        &json!({"type": "string", "format": "extensions.vector"})
    );

    for (path, item) in paths(&document) {
        if path.starts_with("/rpc/") {
            assert!(
                item["post"]["responses"]["200"]["schema"].is_object(),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn a_write_to_a_view_is_refused_with_405_and_changes_nothing() {
    let db = superuser().await;
    let (listener_id, listener) = new_user(&db, &[]).await;
    let song = new_song(&db, "soundscape", "[1,0,0,0,0]").await;
    db.execute(
        "insert into cosound.votes (listener_id, song_id, rating) values ($1::text::uuid, $2, 4)",
        &[&listener_id, &song],
    )
    .await
    .unwrap();
    let votes = || async {
        db.query_one(
            "select count(*), min(rating) from cosound.votes where listener_id = $1::text::uuid",
            &[&listener_id],
        )
        .await
        .map(|row| (row.get::<_, i64>(0), row.get::<_, Option<i16>>(1)))
        .unwrap()
    };
    assert_eq!(votes().await, (1, Some(4)));

    let client = reqwest::Client::new();
    let definitions = document(Some(&listener)).await["definitions"].clone();
    // my_votes joins tables (PostgreSQL's own answer would be 500); songs is a simple view.
    for view in ["my_votes", "songs", "player_library"] {
        let column = definitions[view]["properties"]
            .as_object()
            .and_then(|columns| columns.keys().next_back().cloned())
            .unwrap_or_else(|| panic!("{view} is described"));
        let row = json!({ column: null });
        for (method, body) in [
            (reqwest::Method::PATCH, Some(row.clone())),
            (reqwest::Method::DELETE, None),
            (reqwest::Method::POST, Some(row.clone())),
        ] {
            let mut request = client
                .request(method.clone(), format!("{}/{view}", api_url()))
                .bearer_auth(&listener);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let allow = response.headers().get("allow").cloned();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(status, 405, "{method} {view}: {answer}");
            assert_eq!(allow.unwrap(), "GET, HEAD", "{method} {view}");
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("{view} is read-only")) && message.contains("/rpc/"),
                "{message}"
            );
        }
    }
    assert_eq!(votes().await, (1, Some(4)));

    // One who may not even read it is told so, with no method allowed.
    let response = client
        .delete(format!("{}/my_votes", api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "");
    assert_eq!(votes().await, (1, Some(4)));
}
