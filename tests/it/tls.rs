//! HTTPS: `--tls-cert`/`--tls-key` serve TLS (rustls) with HSTS, links say `https://`, plain HTTP is
//! not answered, and SIGHUP reloads a renewed certificate without a restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Certificate, Client, StatusCode};

use crate::harness::{Backend, Server};

/// A self-signed certificate for 127.0.0.1 and its key, as PEM files in `dir` named
/// `name.crt` and `name.key` (made with the openssl command).
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args([
            "-days",
            "1",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        // A server certificate, not a CA (which rustls refuses as a server's own).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

/// A client that trusts only the certificate in `cert` (and fresh connections each time).
fn trusting(cert: &Path) -> Client {
    let pem = std::fs::read(cert).expect("read certificate");
    Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_pem(&pem).expect("a PEM certificate"))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

async fn serves_https_and_reloads_on_sighup(backend: Backend) {
    let dir = std::env::temp_dir().join(format!("wharf-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (first_cert, first_key) = certificate(&dir, "first");
    let (cert, key) = (dir.join("serving.crt"), dir.join("serving.key"));
    std::fs::copy(&first_cert, &cert).expect("copy");
    std::fs::copy(&first_key, &key).expect("copy");
    let args = [
        "--tls-cert",
        cert.to_str().expect("path"),
        "--tls-key",
        key.to_str().expect("path"),
    ];
    let server = Server::start_with(&backend, &args, &[]).await;
    let https = server.base.replacen("http://", "https://", 1);

    let first = trusting(&first_cert);
    let res = first
        .get(format!("{https}/healthz"))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(res.status(), StatusCode::OK);
    // Over HTTPS, browsers are told to stay on HTTPS.
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    // Links built from the Host header say https.
    let res = first
        .get(format!("{https}/v2/"))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(
        challenge.contains(&format!("realm=\"{https}/token\"")),
        "{challenge}"
    );
    // Plain HTTP gets no answer.
    let plain = Client::new().get(format!("{}/healthz", server.base)).send().await;
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "plain HTTP was answered"
    );

    // A renewed certificate, then SIGHUP: new connections get it.
    let (second_cert, second_key) = certificate(&dir, "second");
    std::fs::copy(&second_cert, &cert).expect("copy");
    std::fs::copy(&second_key, &key).expect("copy");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(status.success());
    let second = trusting(&second_cert);
    let mut reloaded = false;
    for _ in 0..50 {
        if second.get(format!("{https}/healthz")).send().await.is_ok() {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reloaded,
        "the new certificate was not served; log:\n{}",
        server.log_text()
    );
    assert!(
        first.get(format!("{https}/healthz")).send().await.is_err(),
        "the old certificate is still served"
    );
    assert!(server.log_text().contains("TLS certificate reloaded"));
    let _ = std::fs::remove_dir_all(&dir);
}

crate::both_backends!(serves_https_and_reloads_on_sighup);
