//! `/healthz` tells an operator which dependency is missing: a gateway wired to the real
//! database but to an S3 address where nothing listens reports exactly that, with 503.

use cosound_e2e::gateway::{config, dead_address, OwnGateway};
use serde_json::Value;

#[tokio::test]
async fn healthz_reports_an_unreachable_bucket_with_503() {
    let dead_s3 = format!("http://{}", dead_address());
    let gateway = OwnGateway::start(&config(&[("--s3-endpoint", &dead_s3)])).await;

    let response = reqwest::get(format!("{}/healthz", gateway.url))
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
}
