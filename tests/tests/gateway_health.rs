//! `/healthz` tells an operator which dependency is missing: a gateway wired to the real
//! database but to an S3 address where nothing listens reports exactly that, with 503.

use clap::Parser;
use cosound_e2e::database_url;
use cosound_gateway::config::Config;
use cosound_gateway::state::AppState;
use serde_json::Value;

#[tokio::test]
async fn healthz_reports_an_unreachable_bucket_with_503() {
    // Bind a port, then free it, so nothing listens there while the gateway tries it.
    let dead_s3 = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = Config::parse_from([
        "cosound-gateway",
        "--database-url",
        &database_url(),
        "--s3-endpoint",
        &format!("http://{dead_s3}"),
        "--s3-access-key",
        "unused",
        "--s3-secret-key",
        "unused",
    ]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cosound_gateway::server::serve(
        listener,
        AppState::new(&config).unwrap(),
        async {
            let _ = stopped.await;
        },
    ));

    let response = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"]["ok"], true, "{body}");
    assert_eq!(body["s3"]["ok"], false, "{body}");
    assert!(
        body["s3"]["error"].as_str().unwrap().contains("put failed"),
        "{body}"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
