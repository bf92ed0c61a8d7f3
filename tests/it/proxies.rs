//! Behind a reverse proxy: `X-Forwarded-For`, `-Proto` and `-Host` count only when the
//! peer is one of `--trusted-proxies`; then links use the forwarded scheme and host, and the
//! request limit applies to the forwarded client, not to the proxy.

use reqwest::{Method, StatusCode};

use crate::harness::{Backend, Server};

/// The realm of the registry's challenge to `GET /v2/` sent with `headers`.
async fn realm(server: &Server, headers: &[(&str, &str)]) -> String {
    let mut req = server.request(Method::GET, "/v2/");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .expect("text")
        .to_string();
    challenge
        .split("realm=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no realm in {challenge}"))
        .to_string()
}

/// The status of a Hub API request counted by the request limit, from `forwarded_for`.
async fn hub_status(server: &Server, forwarded_for: &str) -> StatusCode {
    server
        .request(Method::GET, "/v2/users/nosuchuser")
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .expect("request")
        .status()
}

const FORWARDED: [(&str, &str); 2] = [
    ("x-forwarded-proto", "https"),
    ("x-forwarded-host", "hub.example.com"),
];

async fn forwarding_headers_count_only_from_trusted_proxies(backend: Backend) {
    // Not trusted (the default): the headers are ignored, and every client behind the same
    // peer shares its limit.
    let server = Server::start_with(&backend, &["--rate-limit", "2"], &[]).await;
    assert_eq!(realm(&server, &FORWARDED).await, format!("{}/token", server.base));
    assert_eq!(hub_status(&server, "203.0.113.1").await, StatusCode::NOT_FOUND);
    assert_eq!(hub_status(&server, "203.0.113.2").await, StatusCode::NOT_FOUND);
    assert_eq!(
        hub_status(&server, "203.0.113.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    drop(server);

    // Trusted: links are the proxy's, and each forwarded client has a limit of its own.
    let args = ["--rate-limit", "2", "--trusted-proxies", "10.0.0.0/8, 127.0.0.1"];
    let server = Server::start_with(&backend, &args, &[]).await;
    assert_eq!(realm(&server, &FORWARDED).await, "https://hub.example.com/token");
    assert_eq!(realm(&server, &[]).await, format!("{}/token", server.base));
    for _ in 0..2 {
        assert_eq!(hub_status(&server, "203.0.113.1").await, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        hub_status(&server, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(hub_status(&server, "203.0.113.2").await, StatusCode::NOT_FOUND);
    // What the client wrote to the left is not believed: the nearest untrusted address is.
    assert_eq!(
        hub_status(&server, "198.51.100.7, 203.0.113.1, 10.1.2.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

crate::both_backends!(forwarding_headers_count_only_from_trusted_proxies);
