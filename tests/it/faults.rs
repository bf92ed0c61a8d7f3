//! Faults between Wharf and what it depends on, made with a TCP proxy that can cut every
//! connection: with the database gone, requests answer 503 (`Retry-After`) and change
//! nothing, `/readyz` says so, and service comes back by itself when the database returns.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::harness::{json, Backend, Server};

/// A TCP proxy to `target` that can be cut (every connection dropped, new ones refused)
/// and restored.
pub struct Proxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let open = open.clone();
            let connections = connections.clone();
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        continue; // dropped: the connection closes at once
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut upstream) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        }
                    });
                    connections.lock().unwrap().push(task);
                }
            })
        };
        Proxy {
            addr,
            open,
            connections,
            _accept: accept,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let mut url = url::Url::parse(url).expect("a URL");
    url.set_host(Some(&addr.ip().to_string())).expect("host");
    url.set_port(Some(addr.port())).expect("port");
    url.to_string()
}

/// PostgreSQL only: SQLite is a file in the process, with no connection to lose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_database_answers_503_and_recovers() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres(cluster) = &backend else {
        unreachable!("Backend::postgres is PostgreSQL");
    };
    let cluster_url = url::Url::parse(cluster).expect("a URL");
    let target: SocketAddr = format!(
        "{}:{}",
        cluster_url.host_str().expect("host"),
        cluster_url.port().unwrap_or(5432)
    )
    .parse()
    .expect("PostgreSQL at an IP address");
    let proxy = Proxy::start(target).await;
    let server = Server::start_routed(&backend, |url| through(url, proxy.addr), &[])
        .await
        .expect("PostgreSQL");
    let session = server.user_with_token("alice").await;
    let repository = json!({"namespace": "alice", "name": "app", "is_private": true});
    let get_repo = "/v2/namespaces/alice/repositories/app";

    proxy.cut();
    // Every request that needs the database: a clear 503, soon.
    let started = std::time::Instant::now();
    let res = server
        .request(Method::GET, "/v2/namespaces/alice/repositories")
        .bearer_auth(&session)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "1");
    let (_, body) = json(res).await;
    assert!(
        body["message"].as_str().unwrap_or_default().contains("database"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered in {:?}",
        started.elapsed()
    );
    let res = server
        .request(Method::POST, "/v2/namespaces/alice/repositories")
        .bearer_auth(&session)
        .json(&repository)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "a write, refused");
    let res = server
        .request(Method::GET, "/readyz")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = server
        .request(Method::GET, "/healthz")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::OK, "alive all the same");

    // Back by itself once the database is.
    proxy.restore();
    let mut ready = false;
    for _ in 0..60 {
        if server
            .request(Method::GET, "/readyz")
            .send()
            .await
            .expect("request")
            .status()
            == StatusCode::OK
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(ready, "/readyz recovers");
    let res = server
        .request(Method::GET, get_repo)
        .bearer_auth(&session)
        .send()
        .await
        .expect("request");
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "the refused write changed nothing"
    );
    let res = server
        .request(Method::POST, "/v2/namespaces/alice/repositories")
        .bearer_auth(&session)
        .json(&repository)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
}
