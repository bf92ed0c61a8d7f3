//! The registry (OCI Distribution v1.1) and its Docker token auth: the base check and the
//! challenge, `/token`, blob uploads (monolithic, POST+PUT, chunked) and downloads (with
//! `Range`), cross-repository mounts, manifests (image, index, Docker schema 2) by tag and
//! by digest, deletion, tag listing, the referrers API, repository names, and who may pull,
//! push and delete with which credential. Errors are checked down to the OCI error code.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use reqwest::header;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{audit_data, json, parse_time, Backend, Server, PASSWORD};
use crate::oci::*;

/// The user who owns [`REPO`].
const OWNER: &str = "alice";
/// Another user, with repositories of their own.
const OTHER_USER: &str = "bobby";
/// The repository most tests push to.
const REPO: &str = "alice/app";
/// An organization owned by [`OWNER`].
const ORG: &str = "acme";
/// Every action a registry token can grant.
const ALL: &str = "pull,push,delete";

/// The audit events of `account` with `action`, newest first.
async fn events(server: &Server, account: &str, action: &str) -> Vec<wharf::store::AuditRow> {
    let mut events = server.audit_events(account).await;
    events.retain(|e| e.action == action);
    events
}

/// What a caller tries in the permission tables.
#[derive(Debug, Clone, Copy)]
enum Try {
    /// `GET` of the tag `v1`.
    Pull,
    /// `POST` of an upload session.
    Push,
    /// `DELETE` of a tag that does not exist: 404 when allowed.
    Delete,
}

/// Tries `what` on `repo` with a token asked for every action with `creds`; the status,
/// after checking that a failure is the OCI error its status calls for.
async fn attempt(server: &Server, creds: Creds<'_>, repo: &str, what: Try) -> StatusCode {
    let registry = Registry::login(server, creds, &[repo], ALL).await;
    let (method, path) = match what {
        Try::Pull => (Method::GET, manifest_path(repo, "v1")),
        Try::Push => (Method::POST, uploads_path(repo)),
        Try::Delete => (Method::DELETE, manifest_path(repo, "nope")),
    };
    let res = registry.send(method, &path).await;
    let status = res.status();
    if status.is_success() {
        return status;
    }
    if status == StatusCode::UNAUTHORIZED {
        // A token that grants too little: the challenge asks for the scope that was missing.
        let needed = match what {
            Try::Pull => "pull",
            Try::Push => "pull,push",
            Try::Delete => "delete",
        };
        let scope = format!("repository:{repo}:{needed}");
        let expected = challenge(server, Ask::Scope(&scope));
        assert_eq!(
            header(res.headers(), "www-authenticate"),
            expected,
            "{what:?} {repo}"
        );
    }
    // A 404 is allowed access to something absent: the tag, or the repository itself.
    let codes: &[&str] = match status.as_u16() {
        401 => &["UNAUTHORIZED"],
        403 => &["DENIED"],
        404 => &["MANIFEST_UNKNOWN", "NAME_UNKNOWN"],
        other => panic!("{what:?} {repo}: unexpected {other}"),
    };
    let (_, body) = json(res).await;
    let code = body["errors"][0]["code"].as_str().unwrap_or_default();
    assert!(codes.contains(&code), "{what:?} {repo}: {status} {body}");
    status
}

/// Walks `cases` (a caller's name, credentials, repository, and the expected status of a
/// pull, a push and a delete); fails listing every cell that differs.
async fn assert_matrix(server: &Server, cases: &[(&str, Creds<'_>, &str, [u16; 3])]) {
    let mut wrong = Vec::new();
    for (who, creds, repo, expected) in cases {
        for (what, expected) in [Try::Pull, Try::Push, Try::Delete].into_iter().zip(expected) {
            let got = attempt(server, *creds, repo, what).await.as_u16();
            if got != *expected {
                wrong.push(format!("{who} {what:?} {repo}: {got}, expected {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

async fn base_check_and_token_auth(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;
    let owner = Some((OWNER, PASSWORD));

    // No token: the challenge that starts `docker login` (on HEAD, without a body).
    let res = server
        .request(Method::HEAD, "/v2/")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(res.headers(), "www-authenticate"),
        challenge(&server, Ask::Token)
    );
    let res = server.request(Method::GET, "/v2/").send().await.expect("request");
    assert_challenge(&server, res, Ask::Token).await;

    // An anonymous token: every field, and any valid token opens `/v2/`.
    let res = token_response(&server, None, &[format!("repository:{REPO}:pull")]).await;
    let (status, body) = json(res).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"], body["access_token"], "{body}");
    assert_eq!(body["expires_in"], 300, "{body}");
    parse_time(&body["issued_at"]);
    let anonymous = Registry::with_token(&server, body["token"].as_str().expect("token"));
    let res = anonymous.send(Method::GET, "/v2/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header(res.headers(), "docker-distribution-api-version"),
        "registry/2.0"
    );

    // Bad credentials are refused outright rather than downgraded to anonymous.
    for creds in [(OWNER, "wrong-password"), ("nosuchuser", PASSWORD)] {
        let res = token_response(&server, Some(creds), &[]).await;
        assert_oci_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;
    }

    // The anonymous token grants nothing on the private repository.
    let registry = Registry::login(&server, owner, &[REPO], ALL).await;
    registry.push_image(REPO, "v1").await;
    let res = anonymous.send(Method::GET, &manifest_path(REPO, "v1")).await;
    assert_challenge(&server, res, Ask::Scope(&format!("repository:{REPO}:pull"))).await;

    // Neither a Hub session nor garbage is a registry token.
    for token in [session.as_str(), "not-a-token"] {
        let other = Registry::with_token(&server, token);
        for path in ["/v2/".to_string(), manifest_path(REPO, "v1")] {
            assert_challenge(&server, other.send(Method::GET, &path).await, Ask::Token).await;
        }
    }

    // A token that does not grant the action, whether it names the repository or not: the
    // challenge names the scope needed.
    let pull_only = Registry::login(&server, owner, &[REPO], "pull").await;
    for (registry, method, path, scope) in [
        (
            &registry,
            Method::GET,
            tags_path("alice/other"),
            "alice/other:pull",
        ),
        (
            &registry,
            Method::GET,
            manifest_path("alice/other", "v1"),
            "alice/other:pull",
        ),
        (
            &registry,
            Method::POST,
            uploads_path("alice/other"),
            "alice/other:pull,push",
        ),
        (
            &pull_only,
            Method::POST,
            uploads_path(REPO),
            "alice/app:pull,push",
        ),
        (
            &pull_only,
            Method::DELETE,
            manifest_path(REPO, "v1"),
            "alice/app:delete",
        ),
    ] {
        let scope = format!("repository:{scope}");
        assert_challenge(&server, registry.send(method, &path).await, Ask::Scope(&scope)).await;
    }
    let res = pull_only.send(Method::GET, &manifest_path(REPO, "v1")).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Several scopes in one request, as separate parameters or space-separated in one.
    Registry::login(&server, owner, &["alice/other"], ALL)
        .await
        .push_image("alice/other", "v1")
        .await;
    let scopes = [
        vec![
            format!("repository:{REPO}:pull"),
            "repository:alice/other:pull".to_string(),
        ],
        vec![format!("repository:{REPO}:pull repository:alice/other:pull")],
    ];
    for scopes in scopes {
        let (status, body) = json(token_response(&server, owner, &scopes).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let both = Registry::with_token(&server, body["token"].as_str().expect("token"));
        for repo in [REPO, "alice/other"] {
            let res = both.send(Method::GET, &manifest_path(repo, "v1")).await;
            assert_eq!(res.status(), StatusCode::OK, "{repo} with {scopes:?}");
        }
    }
}

async fn blob_uploads(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    server.user_with_token(OTHER_USER).await;
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, OTHER_USER, "editor").await;
    let org_repo = format!("{ORG}/app");
    let alice = Registry::login(
        &server,
        Some((OWNER, PASSWORD)),
        &[REPO, "alice/other", &org_repo],
        ALL,
    )
    .await;
    let bob = Registry::login(&server, Some((OTHER_USER, PASSWORD)), &[&org_repo], ALL).await;

    // Monolithic: the whole blob in the POST.
    let data = random_bytes(1000);
    let digest = alice.push_blob(REPO, &data).await;
    alice.assert_blob(REPO, &digest, &data).await;

    // POST, then PUT with the whole blob.
    let data = random_bytes(700);
    let location = alice.start_upload(REPO).await;
    let res = alice.finish_upload(&location, &sha256(&data), &data).await;
    assert_blob_created(res, REPO, &sha256(&data)).await;
    alice.assert_blob(REPO, &sha256(&data), &data).await;

    // Chunked: two PATCHes, a status check, and a PUT without a body.
    let data = random_bytes(3000);
    let location = alice.start_upload(REPO).await;
    for (start, end) in [(0, 1200), (1200, 3000)] {
        let range = format!("{start}-{}", end - 1);
        let res = alice
            .patch_upload(&location, Some(&range), &data[start..end])
            .await;
        assert_upload_state(res, StatusCode::ACCEPTED, REPO, end).await;
    }
    let res = alice.send(Method::GET, &location).await;
    assert_upload_state(res, StatusCode::NO_CONTENT, REPO, 3000).await;
    // A chunk that does not start where the upload stands.
    for range in ["0-99", "3001-3100"] {
        let res = alice.patch_upload(&location, Some(range), &[0; 100]).await;
        assert_oci_error(res, StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID").await;
    }
    let res = alice.finish_upload(&location, &sha256(&data), b"").await;
    assert_blob_created(res, REPO, &sha256(&data)).await;
    alice.assert_blob(REPO, &sha256(&data), &data).await;

    // A wrong digest is refused and stores nothing; the upload can still be completed.
    let data = random_bytes(500);
    let wrong = sha256(b"something else");
    let location = alice.start_upload(REPO).await;
    let res = alice.finish_upload(&location, &wrong, &data).await;
    assert_oci_error(res, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    for digest in [&wrong, &sha256(&data)] {
        alice.assert_no_blob(REPO, digest).await;
    }
    let res = alice.finish_upload(&location, &sha256(&data), b"").await;
    assert_blob_created(res, REPO, &sha256(&data)).await;
    // The same for a monolithic upload.
    let res = alice
        .request(Method::POST, &with_digest(&uploads_path(REPO), &wrong))
        .body(random_bytes(10))
        .send()
        .await
        .expect("request");
    assert_oci_error(res, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    alice.assert_no_blob(REPO, &wrong).await;

    // Malformed digests, and a PUT without one.
    let location = alice.start_upload(REPO).await;
    let malformed = [
        "sha256:abc",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ];
    for digest in malformed {
        for (method, path) in [
            (Method::POST, with_digest(&uploads_path(REPO), digest)),
            (Method::PUT, with_digest(&location, digest)),
            (Method::GET, blob_path(REPO, digest)),
        ] {
            alice
                .refused(method, &path, StatusCode::BAD_REQUEST, "DIGEST_INVALID")
                .await;
        }
    }
    alice
        .refused(Method::PUT, &location, StatusCode::BAD_REQUEST, "DIGEST_INVALID")
        .await;

    // Cancelled: gone for every method.
    let res = alice.send(Method::DELETE, &location).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let unknown = format!("{}{}", uploads_path(REPO), uuid::Uuid::new_v4());
    for path in [&location, &unknown] {
        alice.assert_no_upload(path, EMPTY_SHA256).await;
    }

    // An upload belongs to whoever started it, in its repository: another editor of the
    // same repository, or its owner through another repository, cannot touch it.
    let data = random_bytes(100);
    let location = alice.start_upload(&org_repo).await;
    let elsewhere = location.replace(&org_repo, "alice/other");
    alice
        .push_blob("alice/other", b"makes the repository exist")
        .await;
    for (who, path) in [(&bob, &location), (&alice, &elsewhere)] {
        who.assert_no_upload(path, &sha256(&data)).await;
    }
    let res = alice.finish_upload(&location, &sha256(&data), &data).await;
    assert_blob_created(res, &org_repo, &sha256(&data)).await;
    bob.assert_blob(&org_repo, &sha256(&data), &data).await;

    // sha512, monolithic and POST+PUT (where the digest is computed afresh).
    for monolithic in [true, false] {
        let data = random_bytes(300);
        let digest = sha512(&data);
        let path = if monolithic {
            uploads_path(REPO)
        } else {
            alice.start_upload(REPO).await
        };
        let method = if monolithic { Method::POST } else { Method::PUT };
        let res = alice
            .request(method, &with_digest(&path, &digest))
            .body(data.clone())
            .send()
            .await
            .expect("request");
        assert_blob_created(res, REPO, &digest).await;
        alice.assert_blob(REPO, &digest, &data).await;
    }

    // The empty blob.
    assert_eq!(alice.push_blob(REPO, b"").await, EMPTY_SHA256);
    alice.assert_blob(REPO, EMPTY_SHA256, b"").await;
}

async fn blob_downloads_and_mounts(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    server.user_with_token(OTHER_USER).await;
    let alice = Registry::login(
        &server,
        Some((OWNER, PASSWORD)),
        &[REPO, "alice/other", "alice/fresh"],
        ALL,
    )
    .await;
    let bob = Registry::login(&server, Some((OTHER_USER, PASSWORD)), &["bobby/app", REPO], ALL).await;
    let data = random_bytes(100);
    let digest = alice.push_blob(REPO, &data).await;
    alice.assert_blob(REPO, &digest, &data).await;

    // Ranges: a part, an open end, and what cannot be satisfied.
    for (range, start, end) in [
        ("bytes=2-5", 2, 5),
        ("bytes=90-", 90, 99),
        ("bytes=95-500", 95, 99),
        ("bytes=-10", 90, 99),
        ("bytes=-500", 0, 99),
    ] {
        let res = alice
            .request(Method::GET, &blob_path(REPO, &digest))
            .header(header::RANGE, range)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        let headers = res.headers().clone();
        assert_eq!(
            header(&headers, "content-range"),
            format!("bytes {start}-{end}/100")
        );
        assert_eq!(header(&headers, "content-length"), (end - start + 1).to_string());
        assert_eq!(header(&headers, "docker-content-digest"), digest);
        assert_eq!(
            &res.bytes().await.expect("body")[..],
            &data[start..=end],
            "{range}"
        );
    }
    let res = alice
        .request(Method::GET, &blob_path(REPO, &digest))
        .header(header::RANGE, "bytes=100-200")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    // A range in another unit, or several ranges, get the whole blob.
    for range in ["items=0-5", "bytes=0-1,5-6"] {
        let res = alice
            .request(Method::GET, &blob_path(REPO, &digest))
            .header(header::RANGE, range)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::OK, "{range}");
        assert_eq!(&res.bytes().await.expect("body")[..], &data[..], "{range}");
    }

    // Unknown, and pushed to another repository only.
    alice.assert_no_blob(REPO, &sha256(b"never pushed")).await;
    let other_data = random_bytes(50);
    let other_digest = alice.push_blob("alice/other", &other_data).await;
    alice.assert_no_blob(REPO, &other_digest).await;
    alice.assert_no_blob("alice/other", &digest).await;

    // A mount from a repository the caller may pull links the blob.
    for target in ["alice/other", "alice/fresh"] {
        let path = format!("{}?mount={digest}&from={REPO}", uploads_path(target));
        assert_blob_created(alice.send(Method::POST, &path).await, target, &digest).await;
        alice.assert_blob(target, &digest, &data).await;
    }

    // A mount from a private repository of someone else, or of a blob the source lacks,
    // falls back to an upload session and links nothing.
    bob.push_blob("bobby/app", b"bobby's own").await;
    let unknown = sha256(b"not in the source");
    for (who, source, wanted, target) in [
        (&bob, REPO, &digest, "bobby/app"),
        (&alice, "alice/other", &unknown, "alice/fresh"),
    ] {
        let path = format!("{}?mount={wanted}&from={source}", uploads_path(target));
        let res = who.send(Method::POST, &path).await;
        assert_upload_state(res, StatusCode::ACCEPTED, target, 0).await;
        who.assert_no_blob(target, wanted).await;
    }
    let res = bob.send(Method::GET, &blob_path(REPO, &digest)).await;
    assert_challenge(&server, res, Ask::Scope("repository:alice/app:pull")).await;

    // Deleting unlinks the blob from one repository only.
    assert_eq!(
        alice
            .send(Method::DELETE, &blob_path(REPO, &digest))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    alice.assert_no_blob(REPO, &digest).await;
    alice
        .refused(
            Method::DELETE,
            &blob_path(REPO, &digest),
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
        )
        .await;
    alice.assert_blob("alice/other", &digest, &data).await;
}

async fn manifests_are_pushed_and_pulled(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    let alice = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO], ALL).await;

    // By tag; pulled by tag and by digest, byte for byte.
    let image = alice.image_manifest(REPO).await;
    let digest = alice.push_manifest(REPO, "v1", OCI_MANIFEST, &image).await;
    for reference in ["v1", digest.as_str()] {
        alice.assert_manifest(REPO, reference, OCI_MANIFEST, &image).await;
    }

    // By digest: the same manifest written differently is another manifest.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&image).expect("JSON")).expect("JSON");
    let pretty_digest = alice
        .push_manifest(REPO, &sha256(&pretty), OCI_MANIFEST, &pretty)
        .await;
    alice
        .assert_manifest(REPO, &pretty_digest, OCI_MANIFEST, &pretty)
        .await;
    let wrong = sha256(b"not the manifest");
    let res = alice.put_manifest(REPO, &wrong, OCI_MANIFEST, &pretty).await;
    assert_oci_error(res, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    alice.assert_no_manifest(REPO, &wrong).await;
    // A sha512 reference is checked with sha512.
    let res = alice
        .put_manifest(REPO, &sha512(&pretty), OCI_MANIFEST, &pretty)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(header(res.headers(), "docker-content-digest"), sha512(&pretty));

    // By digest with tag parameters: each tag points at it, and is named in an `OCI-Tag`.
    let tagged = alice.image_manifest(REPO).await;
    let tagged_digest = sha256(&tagged);
    let path = format!("{}?tag=p1&tag=p2", manifest_path(REPO, &tagged_digest));
    let res = alice
        .request(Method::PUT, &path)
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(tagged.clone())
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), StatusCode::CREATED);
    let named: Vec<&str> = res
        .headers()
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().expect("header"))
        .collect();
    assert_eq!(named, ["p1", "p2"]);
    for tag in ["p1", "p2"] {
        alice.assert_manifest(REPO, tag, OCI_MANIFEST, &tagged).await;
    }
    let path = format!("{}?tag=-bad", manifest_path(REPO, &tagged_digest));
    let res = alice
        .request(Method::PUT, &path)
        .header(header::CONTENT_TYPE, OCI_MANIFEST)
        .body(tagged.clone())
        .send()
        .await
        .expect("request");
    assert_oci_error(res, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;

    // Docker schema 2, with a foreign layer: that one lives elsewhere and is not pushed.
    let config = config_blob();
    let layer = random_bytes(256);
    alice.push_blob(REPO, &config).await;
    alice.push_blob(REPO, &layer).await;
    let mut foreign = descriptor(
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        b"a base layer served elsewhere",
    );
    foreign["urls"] = json!(["https://example.com/base.tar.gz"]);
    let docker = manifest(
        DOCKER_MANIFEST,
        descriptor(DOCKER_CONFIG, &config),
        &[descriptor(DOCKER_LAYER, &layer), foreign],
        json!({}),
    );
    let docker_digest = alice
        .push_manifest(REPO, "docker", DOCKER_MANIFEST, &docker)
        .await;
    alice
        .assert_manifest(REPO, "docker", DOCKER_MANIFEST, &docker)
        .await;

    // An index of both.
    let platform = |arch: &str| json!({"architecture": arch, "os": "linux"});
    let mut children = [
        descriptor(OCI_MANIFEST, &image),
        descriptor(DOCKER_MANIFEST, &docker),
    ];
    children[0]["platform"] = platform("amd64");
    children[1]["platform"] = platform("arm64");
    let list = index(&children);
    alice.push_manifest(REPO, "multi", OCI_INDEX, &list).await;
    alice.assert_manifest(REPO, "multi", OCI_INDEX, &list).await;

    // Moving a tag; the manifest it left stays pullable by digest.
    let newer = alice.image_manifest(REPO).await;
    let newer_digest = alice.push_manifest(REPO, "v1", OCI_MANIFEST, &newer).await;
    alice.assert_manifest(REPO, "v1", OCI_MANIFEST, &newer).await;
    alice.assert_manifest(REPO, &digest, OCI_MANIFEST, &image).await;

    // The audit trail of the namespace: the repository created once, each tag pushed.
    let created = events(&server, OWNER, "repo.create").await;
    assert_eq!(created.len(), 1, "{created:#?}");
    assert_eq!(
        (created[0].name.as_str(), created[0].actor.as_str()),
        (REPO, OWNER)
    );
    let pushed: Vec<(String, Value)> = events(&server, OWNER, "repo.tag.push")
        .await
        .iter()
        .map(|e| {
            assert_eq!(
                (e.name.as_str(), e.actor.as_str(), e.credential.as_deref()),
                (REPO, OWNER, None)
            );
            let data = audit_data(e);
            (
                data["tag"].as_str().expect("tag").to_string(),
                data["digest"].clone(),
            )
        })
        .collect();
    let list_digest = sha256(&list);
    let expected = [
        ("v1", &newer_digest),
        ("multi", &list_digest),
        ("docker", &docker_digest),
        ("p2", &tagged_digest),
        ("p1", &tagged_digest),
        ("v1", &digest),
    ];
    let expected: Vec<(String, Value)> = expected
        .iter()
        .map(|(tag, digest)| (tag.to_string(), json!(digest)))
        .collect();
    assert_eq!(pushed, expected);
}

async fn invalid_manifests_are_refused(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    let alice = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO, "alice/ghost"], ALL).await;
    let config = config_blob();
    let layer = random_bytes(128);
    alice.push_blob(REPO, &config).await;
    alice.push_blob(REPO, &layer).await;
    let (config, layer) = (descriptor(OCI_CONFIG, &config), descriptor(OCI_LAYER, &layer));
    let missing = descriptor(OCI_LAYER, b"never pushed");
    // An image manifest of `media_type` with `config` and `layers`.
    let image = |media_type: &str, config: &Value, layers: &[&Value]| {
        let layers: Vec<Value> = layers.iter().map(|l| (*l).clone()).collect();
        manifest(media_type, config.clone(), &layers, json!({}))
    };
    let good = image(OCI_MANIFEST, &config, &[&layer]);
    let without_type = serde_json::to_vec(&json!({
        "schemaVersion": 2, "config": config, "layers": [layer],
    }))
    .expect("JSON");
    let not_a_manifest = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST}));
    let unknown_type = "application/vnd.example+json";

    // (what, Content-Type, body, error code), each pushed as the tag `bad`: a 400, but for
    // the size.
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing layer",
            Some(OCI_MANIFEST),
            image(OCI_MANIFEST, &config, &[&layer, &missing]),
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            "missing config",
            Some(OCI_MANIFEST),
            image(OCI_MANIFEST, &missing, &[&layer]),
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            "index of an unknown manifest",
            Some(OCI_INDEX),
            index(&[descriptor(OCI_MANIFEST, b"{}")]),
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            "not JSON",
            Some(OCI_MANIFEST),
            b"{not json".to_vec(),
            "MANIFEST_INVALID",
        ),
        (
            "not a manifest",
            Some(OCI_MANIFEST),
            not_a_manifest.expect("JSON"),
            "MANIFEST_INVALID",
        ),
        (
            "unknown media type",
            Some(unknown_type),
            image(unknown_type, &config, &[&layer]),
            "MANIFEST_INVALID",
        ),
        (
            "mediaType differs from Content-Type",
            Some(DOCKER_MANIFEST),
            good.clone(),
            "MANIFEST_INVALID",
        ),
        (
            "no media type at all",
            None,
            without_type.clone(),
            "MANIFEST_INVALID",
        ),
        (
            "too large",
            Some(OCI_MANIFEST),
            vec![b' '; 4 * 1024 * 1024 + 1],
            "SIZE_INVALID",
        ),
    ];
    for (what, content_type, body, code) in cases {
        let status = match code {
            "SIZE_INVALID" => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut req = alice
            .request(Method::PUT, &manifest_path(REPO, "bad"))
            .body(body.clone());
        if let Some(content_type) = content_type {
            req = req.header(header::CONTENT_TYPE, content_type);
        }
        let res = req.send().await.expect("request");
        assert_eq!(res.status(), status, "{what}");
        assert_oci_error(res, status, code).await;
        // Nothing stored, under the tag or the digest.
        for reference in ["bad".to_string(), sha256(&body)] {
            alice.assert_no_manifest(REPO, &reference).await;
        }
    }

    // Without a mediaType field, the Content-Type says what it is.
    alice
        .push_manifest(REPO, "typed", OCI_MANIFEST, &without_type)
        .await;

    // Tags the grammar refuses: invalid to push to, and naming nothing to pull or delete.
    for tag in ["-v1", ".v1", "v1+build", &"a".repeat(129)] {
        let res = alice.put_manifest(REPO, tag, OCI_MANIFEST, &good).await;
        assert_oci_error(res, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
        for method in [Method::GET, Method::DELETE] {
            alice
                .refused(
                    method,
                    &manifest_path(REPO, tag),
                    StatusCode::NOT_FOUND,
                    "MANIFEST_UNKNOWN",
                )
                .await;
        }
    }
    // The longest tag the grammar allows.
    alice
        .push_manifest(REPO, &"a".repeat(128), OCI_MANIFEST, &good)
        .await;

    // Unknown tags and digests.
    for reference in ["nope".to_string(), sha256(b"nope")] {
        alice.assert_no_manifest(REPO, &reference).await;
    }

    // A refused first push creates no repository.
    let res = alice.put_manifest("alice/ghost", "v1", OCI_MANIFEST, &good).await;
    assert_oci_error(res, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
    alice
        .refused(
            Method::GET,
            &tags_path("alice/ghost"),
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
        )
        .await;
    let created = events(&server, OWNER, "repo.create").await;
    assert_eq!(created.len(), 1, "only {REPO} was created: {created:#?}");
}

async fn manifests_and_tags_are_deleted(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    let alice = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO], ALL).await;
    let (image, digest) = alice.push_image(REPO, "v1").await;
    for tag in ["v2", "keep"] {
        alice.push_manifest(REPO, tag, OCI_MANIFEST, &image).await;
    }
    alice.push_image(REPO, "other").await;
    let deleted = |tags: &[&str]| -> Vec<(String, Value)> {
        tags.iter()
            .map(|tag| (tag.to_string(), json!({"tag": tag, "digest": digest})))
            .collect()
    };
    let recorded = || async {
        events(&server, OWNER, "repo.tag.delete")
            .await
            .iter()
            .map(|e| {
                assert_eq!((e.name.as_str(), e.actor.as_str()), (REPO, OWNER));
                let data = audit_data(e);
                (data["tag"].as_str().expect("tag").to_string(), data)
            })
            .collect::<Vec<_>>()
    };

    // By tag: that tag only.
    let res = alice.send(Method::DELETE, &manifest_path(REPO, "v1")).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    alice.assert_no_manifest(REPO, "v1").await;
    for reference in ["v2", &digest] {
        alice.assert_manifest(REPO, reference, OCI_MANIFEST, &image).await;
    }
    assert_eq!(recorded().await, deleted(&["v1"]));

    // By digest: the manifest and every tag on it.
    let res = alice.send(Method::DELETE, &manifest_path(REPO, &digest)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    for reference in ["v2", "keep", &digest] {
        alice.assert_no_manifest(REPO, reference).await;
    }
    assert_eq!(alice.tags(REPO, "").await.0, ["other"]);
    let mut events = recorded().await;
    events.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(events, deleted(&["keep", "v1", "v2"]));

    // Gone is gone.
    for reference in ["v1", "nope", &digest] {
        alice
            .refused(
                Method::DELETE,
                &manifest_path(REPO, reference),
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
            )
            .await;
    }
}

async fn tags_are_listed_in_pages(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    let alice = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO, "alice/none"], ALL).await;
    let image = alice.image_manifest(REPO).await;
    // Pushed out of order; listed in byte order (digits, upper case, lower case).
    let tags = ["b", "a_b", "B", "a", "1.0", "a-b", "a.b"];
    for tag in tags {
        alice.push_manifest(REPO, tag, OCI_MANIFEST, &image).await;
    }
    let sorted = ["1.0", "B", "a", "a-b", "a.b", "a_b", "b"];
    assert_eq!(
        alice.tags(REPO, "").await,
        (sorted.map(String::from).to_vec(), String::new())
    );

    // Pages of two, following `Link` until there is none.
    let mut query = "?n=2".to_string();
    let mut pages = Vec::new();
    loop {
        let (tags, link) = alice.tags(REPO, &query).await;
        pages.push(tags.clone());
        if link.is_empty() {
            break;
        }
        let last = tags.last().expect("a full page");
        assert_eq!(
            link,
            format!("<{}?n=2&last={last}>; rel=\"next\"", tags_path(REPO))
        );
        let target = link
            .trim_start_matches('<')
            .split('>')
            .next()
            .expect("link target");
        query = target.trim_start_matches(&tags_path(REPO)).to_string();
    }
    let expected: Vec<Vec<String>> = sorted
        .chunks(2)
        .map(|c| c.iter().map(|t| t.to_string()).collect())
        .collect();
    assert_eq!(pages, expected);

    // A page that ends exactly at the last tag has no `Link`.
    let last_two = &sorted[sorted.len() - 2..];
    let before = sorted[sorted.len() - 3];
    assert_eq!(
        alice.tags(REPO, &format!("?n=2&last={before}")).await,
        (last_two.iter().map(|t| t.to_string()).collect(), String::new())
    );

    // `n=0`, `last` alone, and `last` past the end.
    for (query, expected) in [
        ("?n=0", &[][..]),
        ("?last=a.b", &["a_b", "b"][..]),
        ("?last=b", &[][..]),
        ("?n=1&last=a", &["a-b"][..]),
    ] {
        assert_eq!(alice.tags(REPO, query).await.0, expected, "{query}");
    }

    // A repository that does not exist has no tag list, however few tags are asked for.
    for query in ["", "?n=0"] {
        let path = format!("{}{query}", tags_path("alice/none"));
        alice
            .refused(Method::GET, &path, StatusCode::NOT_FOUND, "NAME_UNKNOWN")
            .await;
    }

    // Without `n`, a page holds 1000 tags; one more than that is behind a `Link`, not lost.
    let many: Vec<String> = (0..=1000).map(|i| format!("t{i:04}")).collect();
    futures_util::stream::iter(&many)
        .for_each_concurrent(8, |tag| {
            alice.push_manifest(REPO, tag, OCI_MANIFEST, &image).map(drop)
        })
        .await;
    let (first, link) = alice.tags(REPO, "?last=b").await;
    assert_eq!(first, many[..1000]);
    assert_eq!(
        link,
        format!("<{}?n=1000&last=t0999>; rel=\"next\"", tags_path(REPO))
    );
    assert_eq!(
        alice.tags(REPO, "?n=1000&last=t0999").await,
        (vec![many[1000].clone()], String::new())
    );
}

async fn referrers(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    let alice = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO, "alice/none"], ALL).await;
    let (image, subject) = alice.push_image(REPO, "v1").await;
    let empty = alice.push_blob(REPO, b"{}").await;
    let payload = random_bytes(64);
    alice.push_blob(REPO, &payload).await;
    let empty_config = json!({"mediaType": OCI_EMPTY, "digest": empty, "size": 2});

    // Two artifacts about the image, of two types; one of them with annotations.
    let annotations = json!({"org.opencontainers.image.created": "2024-01-01T00:00:00Z"});
    let artifact = |artifact_type: &str, annotations: Value| {
        manifest(
            OCI_MANIFEST,
            empty_config.clone(),
            &[descriptor("application/octet-stream", &payload)],
            json!({
                "artifactType": artifact_type,
                "subject": descriptor(OCI_MANIFEST, &image),
                "annotations": annotations,
            }),
        )
    };
    let sbom = artifact("application/vnd.example.sbom", annotations.clone());
    let signature = artifact("application/vnd.example.signature", json!({}));
    for bytes in [&sbom, &signature] {
        let res = alice
            .put_manifest(REPO, &sha256(bytes), OCI_MANIFEST, bytes)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(header(res.headers(), "oci-subject"), subject);
    }
    // A manifest without a subject gets no `OCI-Subject`.
    let res = alice.put_manifest(REPO, "v1", OCI_MANIFEST, &image).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("oci-subject").is_none());

    let mut sbom_descriptor = descriptor(OCI_MANIFEST, &sbom);
    sbom_descriptor["artifactType"] = json!("application/vnd.example.sbom");
    sbom_descriptor["annotations"] = annotations;
    let mut signature_descriptor = descriptor(OCI_MANIFEST, &signature);
    signature_descriptor["artifactType"] = json!("application/vnd.example.signature");
    let mut both = vec![sbom_descriptor.clone(), signature_descriptor];
    both.sort_by_key(|d| d["digest"].as_str().expect("digest").to_string());

    // (repository, subject, artifactType filter, expected referrers); a repository nothing
    // was pushed to has no referrers rather than no answer.
    let sbom_digest = sha256(&sbom);
    let cases = [
        (REPO, &subject, None, both),
        (
            REPO,
            &subject,
            Some("application/vnd.example.sbom"),
            vec![sbom_descriptor],
        ),
        (REPO, &subject, Some("application/vnd.example.none"), vec![]),
        (REPO, &sbom_digest, None, vec![]),
        ("alice/none", &subject, None, vec![]),
    ];
    for (repo, digest, filter, expected) in cases {
        let mut path = format!("/v2/{repo}/referrers/{digest}");
        if let Some(filter) = filter {
            path.push_str(&format!("?artifactType={filter}"));
        }
        let res = alice.send(Method::GET, &path).await;
        let headers = res.headers().clone();
        assert_eq!(header(&headers, "content-type"), OCI_INDEX, "{path}");
        let filters = if filter.is_some() { "artifactType" } else { "" };
        assert_eq!(header(&headers, "oci-filters-applied"), filters, "{path}");
        let (status, body) = json(res).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(
            body,
            json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": expected}),
            "{path}"
        );
    }

    // Without artifactType, a manifest's artifact type is its config's media type; the
    // subject need not be in the repository.
    let absent = sha256(b"a subject pushed later");
    let plain = manifest(
        OCI_MANIFEST,
        empty_config.clone(),
        &[descriptor("application/octet-stream", &payload)],
        json!({"subject": {"mediaType": OCI_MANIFEST, "digest": absent, "size": 10}}),
    );
    let res = alice
        .put_manifest(REPO, &sha256(&plain), OCI_MANIFEST, &plain)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(header(res.headers(), "oci-subject"), absent);
    let (status, body) = json(
        alice
            .send(Method::GET, &format!("/v2/{REPO}/referrers/{absent}"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["manifests"][0]["artifactType"], OCI_EMPTY, "{body}");
    assert_eq!(body["manifests"][0]["digest"], sha256(&plain), "{body}");

    for digest in ["sha256:abc", "nodigest"] {
        alice
            .refused(
                Method::GET,
                &format!("/v2/{REPO}/referrers/{digest}"),
                StatusCode::BAD_REQUEST,
                "DIGEST_INVALID",
            )
            .await;
    }
}

async fn repository_names(backend: Backend) {
    let (server, _) = Server::start_as(&backend, OWNER).await;
    server.user_with_token(OTHER_USER).await;
    let deep = ["alice/team/app/sub", "alice/manifests/blobs"];
    let alice = Registry::login(
        &server,
        Some((OWNER, PASSWORD)),
        &[deep[0], deep[1], "alice/none", "bobby/none", "nobody/app"],
        ALL,
    )
    .await;

    // Names off the grammar, on every kind of endpoint.
    let long = format!("alice/{}", "a".repeat(250));
    let invalid = [
        "Alice/app",
        "alice/App",
        "alice//app",
        "app",
        "alice/app-",
        "alice/-app",
        "alice/a..b",
        &long,
    ];
    for name in invalid {
        for path in [
            tags_path(name),
            manifest_path(name, "v1"),
            blob_path(name, EMPTY_SHA256),
            uploads_path(name),
        ] {
            let method = if path.ends_with("/uploads/") {
                Method::POST
            } else {
                Method::GET
            };
            alice
                .refused(method, &path, StatusCode::BAD_REQUEST, "NAME_INVALID")
                .await;
        }
    }

    // Names of several components, even ones that look like endpoints.
    for name in deep {
        let (image, _) = alice.push_image(name, "v1").await;
        alice.assert_manifest(name, "v1", OCI_MANIFEST, &image).await;
        assert_eq!(alice.tags(name, "").await.0, ["v1"]);
    }

    // A repository that does not exist in one's own namespace is unknown; in someone
    // else's, the answer is the same as for one that exists.
    for path in [
        tags_path("alice/none"),
        manifest_path("alice/none", "v1"),
        blob_path("alice/none", EMPTY_SHA256),
    ] {
        alice
            .refused(Method::GET, &path, StatusCode::NOT_FOUND, "NAME_UNKNOWN")
            .await;
    }
    // A namespace that does not exist: no token grants anything there either.
    let anonymous = Registry::login(&server, None, &["nobody/app"], ALL).await;
    for (registry, name) in [
        (&alice, "bobby/none"),
        (&alice, "nobody/app"),
        (&anonymous, "nobody/app"),
    ] {
        let res = registry.send(Method::GET, &manifest_path(name, "v1")).await;
        let scope = format!("repository:{name}:pull");
        assert_challenge(&server, res, Ask::Scope(&scope)).await;
    }
}

async fn who_may_pull_push_and_delete(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;
    let bob_session = server.user_with_token(OTHER_USER).await;
    for user in ["carol", "dave"] {
        server.user_with_token(user).await;
    }
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, "carol", "editor").await;
    server.add_org_member(ORG, "dave", "member").await;
    let org_repo = format!("{ORG}/app");
    let owner = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO, &org_repo], ALL).await;
    owner.push_image(REPO, "v1").await;
    owner.push_image(&org_repo, "v1").await;
    let bob = Registry::login(&server, Some((OTHER_USER, PASSWORD)), &["bobby/app"], ALL).await;
    bob.push_image("bobby/app", "v1").await;
    let pat = |scope: &'static str| {
        let (server, session) = (&server, &session);
        async move {
            let created = server.create_pat(session, scope, &[scope]).await;
            created["token"].as_str().expect("PAT").to_string()
        }
    };
    let (read, write, admin) = (
        pat("repo:read").await,
        pat("repo:write").await,
        pat("repo:admin").await,
    );
    let bob_pat = server
        .create_pat(&bob_session, "bobby admin", &["repo:admin"])
        .await;
    let bob_pat = bob_pat["token"].as_str().expect("PAT").to_string();

    // (caller, credentials, repository, [pull, push, delete]). A refusal is a 401: the
    // token grants only what the policy allows.
    let cases: Vec<(&str, Creds<'_>, &str, [u16; 3])> = vec![
        ("owner", Some((OWNER, PASSWORD)), REPO, [200, 202, 404]),
        ("owner repo:read", Some((OWNER, &read)), REPO, [200, 401, 401]),
        ("owner repo:write", Some((OWNER, &write)), REPO, [200, 202, 401]),
        ("owner repo:admin", Some((OWNER, &admin)), REPO, [200, 202, 404]),
        ("other user", Some((OTHER_USER, PASSWORD)), REPO, [401, 401, 401]),
        (
            "other user repo:admin",
            Some((OTHER_USER, &bob_pat)),
            REPO,
            [401, 401, 401],
        ),
        ("anonymous", None, REPO, [401, 401, 401]),
        ("owner", Some((OWNER, PASSWORD)), "bobby/app", [401, 401, 401]),
        ("org owner", Some((OWNER, PASSWORD)), &org_repo, [200, 202, 404]),
        (
            "org owner repo:read",
            Some((OWNER, &read)),
            &org_repo,
            [200, 401, 401],
        ),
        (
            "org editor",
            Some(("carol", PASSWORD)),
            &org_repo,
            [200, 202, 404],
        ),
        ("org member", Some(("dave", PASSWORD)), &org_repo, [401, 401, 401]),
        (
            "outsider",
            Some((OTHER_USER, PASSWORD)),
            &org_repo,
            [401, 401, 401],
        ),
        ("anonymous", None, &org_repo, [401, 401, 401]),
    ];
    assert_matrix(&server, &cases).await;

    // A deactivated PAT: its registry token stops working on the next request, and it gets
    // no new one.
    let created = server.create_pat(&session, "soon off", &["repo:write"]).await;
    let secret = created["token"].as_str().expect("PAT");
    let registry = Registry::login(&server, Some((OWNER, secret)), &[REPO], ALL).await;
    let v1 = manifest_path(REPO, "v1");
    assert_eq!(registry.send(Method::GET, &v1).await.status(), StatusCode::OK);
    let path = format!("/v2/access-tokens/{}", created["uuid"].as_str().expect("uuid"));
    server
        .expect(
            Method::PATCH,
            &path,
            Some(&session),
            Some(json!({"is_active": false})),
            StatusCode::OK,
        )
        .await;
    for path in [v1.as_str(), "/v2/"] {
        assert_challenge(&server, registry.send(Method::GET, path).await, Ask::Token).await;
    }
    let res = token_response(&server, Some((OWNER, secret)), &[]).await;
    assert_oci_error(res, StatusCode::UNAUTHORIZED, "UNAUTHORIZED").await;

    // A role taken away: a token issued before no longer carries it, as every request is
    // checked against the policy again.
    let editor = Registry::login(&server, Some(("carol", PASSWORD)), &[&org_repo], ALL).await;
    server
        .expect(
            Method::PUT,
            &format!("/v2/orgs/{ORG}/members/carol"),
            Some(&session),
            Some(json!({"role": "member"})),
            StatusCode::OK,
        )
        .await;
    for (method, path) in [
        (Method::GET, manifest_path(&org_repo, "v1")),
        (Method::POST, uploads_path(&org_repo)),
        (Method::DELETE, manifest_path(&org_repo, "v1")),
    ] {
        editor
            .refused(method, &path, StatusCode::FORBIDDEN, "DENIED")
            .await;
    }
}

async fn organization_access_tokens(backend: Backend) {
    let (server, session) = Server::start_as(&backend, OWNER).await;
    server.create_org(ORG, OWNER).await;
    server.create_org("globex", OWNER).await;
    let org_repo = format!("{ORG}/app");
    let owner = Registry::login(
        &server,
        Some((OWNER, PASSWORD)),
        &[REPO, &org_repo, "globex/app"],
        ALL,
    )
    .await;
    for repo in [REPO, &org_repo, "globex/app"] {
        owner.push_image(repo, "v1").await;
    }
    let oat = |resources: Value| {
        let (server, session) = (&server, &session);
        async move {
            let created = server.create_oat(session, ORG, resources).await;
            created["token"].as_str().expect("OAT").to_string()
        }
    };
    let repos = |scope: &str| json!({"type": "TYPE_REPO", "path": format!("{ORG}/*"), "scopes": [scope]});
    let create = json!({"type": "TYPE_ORG", "path": ORG, "scopes": ["scope-repository-create"]});
    let pull = oat(json!([repos("scope-image-pull")])).await;
    let push = oat(json!([repos("scope-image-push")])).await;
    let creator = oat(json!([repos("scope-image-push"), create])).await;
    let one_repo =
        oat(json!([{"type": "TYPE_REPO", "path": "acme/other", "scopes": ["scope-image-delete"]}])).await;

    let cases: Vec<(&str, Creds<'_>, &str, [u16; 3])> = vec![
        ("pull", Some((ORG, &pull)), &org_repo, [200, 401, 401]),
        ("push", Some((ORG, &push)), &org_repo, [200, 202, 401]),
        // Pushing to a repository that does not exist would create it.
        ("push", Some((ORG, &push)), "acme/fresh", [404, 401, 401]),
        (
            "another repository",
            Some((ORG, &one_repo)),
            &org_repo,
            [401, 401, 401],
        ),
        // Outside the organization, nothing.
        ("push", Some((ORG, &push)), REPO, [401, 401, 401]),
        ("push", Some((ORG, &push)), "globex/app", [401, 401, 401]),
    ];
    assert_matrix(&server, &cases).await;

    // With `scope-repository-create`, a first push creates the repository, by the
    // organization with the token's label.
    let registry = Registry::login(&server, Some((ORG, &creator)), &["acme/fresh"], ALL).await;
    let (image, _) = registry.push_image("acme/fresh", "v1").await;
    registry
        .assert_manifest("acme/fresh", "v1", OCI_MANIFEST, &image)
        .await;
    let created = events(&server, ORG, "repo.create").await;
    let newest = created.first().expect("repo.create");
    assert_eq!(
        (
            newest.name.as_str(),
            newest.actor.as_str(),
            newest.credential.as_deref()
        ),
        ("acme/fresh", ORG, Some("test token"))
    );
}

async fn public_repositories(backend: Backend) {
    let server = Server::start_with(&backend, &["--new-repository-visibility", "public"], &[]).await;
    let session = server.user_with_token(OWNER).await;
    for user in [OTHER_USER, "dave"] {
        server.user_with_token(user).await;
    }
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, "dave", "member").await;
    let org_repo = format!("{ORG}/app");
    let owner = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO, &org_repo], ALL).await;
    for repo in [REPO, &org_repo] {
        owner.push_image(repo, "v1").await;
    }
    let public_read = server.create_pat(&session, "public", &["repo:public_read"]).await;
    let public_read = public_read["token"].as_str().expect("PAT");
    let resources = json!([{"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["scope-image-pull"]}]);
    let oat = server.create_oat(&session, ORG, resources).await;
    let oat = oat["token"].as_str().expect("OAT");

    // Anyone may pull a public repository; writing still takes the rights it always took.
    let cases: Vec<(&str, Creds<'_>, &str, [u16; 3])> = vec![
        ("anonymous", None, REPO, [200, 401, 401]),
        ("other user", Some((OTHER_USER, PASSWORD)), REPO, [200, 401, 401]),
        (
            "owner repo:public_read",
            Some((OWNER, public_read)),
            REPO,
            [200, 401, 401],
        ),
        ("owner", Some((OWNER, PASSWORD)), REPO, [200, 202, 404]),
        ("anonymous", None, &org_repo, [200, 401, 401]),
        ("org member", Some(("dave", PASSWORD)), &org_repo, [200, 401, 401]),
        (
            "public repositories OAT",
            Some((ORG, oat)),
            &org_repo,
            [200, 401, 401],
        ),
    ];
    assert_matrix(&server, &cases).await;
}

async fn uploads_outlive_their_token(backend: Backend) {
    let server = Server::start_with(&backend, &["--registry-token-ttl", "2"], &[]).await;
    server.user_with_token(OWNER).await;
    let alice = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO], ALL).await;
    let data = random_bytes(2000);
    let location = alice.start_upload(REPO).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The upload under way goes on with the expired token.
    let res = alice.patch_upload(&location, Some("0-999"), &data[..1000]).await;
    assert_upload_state(res, StatusCode::ACCEPTED, REPO, 1000).await;
    let res = alice
        .finish_upload(&location, &sha256(&data), &data[1000..])
        .await;
    assert_blob_created(res, REPO, &sha256(&data)).await;

    // Nothing else does.
    let blob = blob_path(REPO, &sha256(&data));
    for (method, path, ask) in [
        (
            Method::POST,
            uploads_path(REPO),
            Ask::Fresh("repository:alice/app:pull,push"),
        ),
        (Method::GET, blob, Ask::Fresh("repository:alice/app:pull")),
        (Method::GET, "/v2/".to_string(), Ask::Token),
    ] {
        assert_challenge(&server, alice.send(method, &path).await, ask).await;
    }
    let fresh = Registry::login(&server, Some((OWNER, PASSWORD)), &[REPO], "pull").await;
    fresh.assert_blob(REPO, &sha256(&data), &data).await;
}

/// An upload session nobody writes to ends after `--upload-expiry`: the background job
/// deletes it and its parts; one still written to stays.
async fn idle_uploads_expire(backend: Backend) {
    let args = ["--upload-expiry", "1", "--housekeeping-interval", "1"];
    let server = Server::start_with(&backend, &args, &[]).await;
    server.create_user("alice").await;
    let registry = Registry::login(&server, Some(("alice", PASSWORD)), &["alice/app"], "pull,push").await;
    let idle = registry.start_upload("alice/app").await;
    let res = registry.patch_upload(&idle, None, &random_bytes(1000)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let idle = crate::oci::header(res.headers(), "location").to_string();
    let parts_dir = server.data_dir.join("blobs/uploads");
    assert!(
        parts_dir
            .read_dir()
            .map(|mut d| d.next().is_some())
            .unwrap_or(false),
        "a part on disk"
    );
    let mut gone = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let status = registry.send(Method::GET, &idle).await.status();
        if status == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
    }
    assert!(gone, "the idle upload was not ended; log:\n{}", server.log_text());
    registry.assert_no_upload(&idle, &sha256(b"x")).await;
    let left: Vec<_> = std::fs::read_dir(&parts_dir)
        .map(|d| {
            d.flatten()
                .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "its parts are deleted: {left:?}");
    assert!(server.log_text().contains("idle upload sessions ended"));
}

crate::both_backends!(
    idle_uploads_expire,
    base_check_and_token_auth,
    blob_uploads,
    blob_downloads_and_mounts,
    manifests_are_pushed_and_pulled,
    invalid_manifests_are_refused,
    manifests_and_tags_are_deleted,
    tags_are_listed_in_pages,
    referrers,
    repository_names,
    who_may_pull_push_and_delete,
    organization_access_tokens,
    public_repositories,
    uploads_outlive_their_token,
);
