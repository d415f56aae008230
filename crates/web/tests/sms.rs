//! The HTTP SMS adapter against a gateway on a real port: what it posts, and how a
//! refusal and an unreachable gateway come back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use huimin_web::sms::{HttpSmsGateway, SmsError, SmsGateway};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Received = Arc<Mutex<Vec<(Option<String>, serde_json::Value)>>>;

async fn gateway(status: StatusCode) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/send",
        axum::routing::post(
            move |headers: HeaderMap, Json(body): Json<serde_json::Value>| {
                let kept = kept.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .map(|value| value.to_str().unwrap().to_owned());
                    kept.lock().unwrap().push((auth, body));
                    (status, "quota exceeded")
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn messages_are_posted_as_json_with_the_token_and_refusals_are_reported() {
    let (url, received) = gateway(StatusCode::OK).await;
    let sms = HttpSmsGateway::new(
        url,
        Some("gateway-token".into()),
        "惠民",
        Duration::from_secs(5),
    )
    .unwrap();
    sms.send("13812345678", "【惠民】您的登录验证码是 123456")
        .await
        .unwrap();
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received,
        [(
            Some("Bearer gateway-token".to_owned()),
            serde_json::json!({
                "phone": "13812345678",
                "text": "【惠民】您的登录验证码是 123456",
                "signature": "惠民",
            })
        )]
    );

    let (url, _) = gateway(StatusCode::TOO_MANY_REQUESTS).await;
    let refusing = HttpSmsGateway::new(url, None, "惠民", Duration::from_secs(5)).unwrap();
    let error = refusing.send("13812345678", "x").await.unwrap_err();
    assert_eq!(
        error,
        SmsError::Refused("429 Too Many Requests: quota exceeded".into())
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/send", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = HttpSmsGateway::new(url, None, "惠民", Duration::from_secs(2)).unwrap();
    assert!(matches!(
        unreachable.send("13812345678", "x").await,
        Err(SmsError::Unreachable(_))
    ));
}
