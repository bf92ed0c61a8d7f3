//! `wharf admin`: the shell side of the same store, beside a running server.

use crate::harness::{Backend, Server, PASSWORD};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn create_user_and_refuse_bad_input(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let create = |name: &'static str, email: &'static str, password: Option<&'static str>| {
        let server = &server;
        async move {
            server
                .admin(
                    &["user", "create", name, "--email", email, "--password-stdin"],
                    password,
                )
                .await
        }
    };
    // Taken name, taken email, bad name, bad email, short password, no password.
    for (name, email, password) in [
        ("alice", "other@example.com", Some("long-enough-password\n")),
        ("carol", "alice@example.com", Some("long-enough-password\n")),
        ("Bad-Name", "bad@example.com", Some("long-enough-password\n")),
        ("users", "users@example.com", Some("long-enough-password\n")),
        ("carol", "not-an-email", Some("long-enough-password\n")),
        ("carol", "carol@example.com", Some("short\n")),
        ("carol", "carol@example.com", None),
    ] {
        let out = create(name, email, password).await;
        assert!(!out.status.success(), "{name} {email} was accepted");
        assert!(!stderr(&out).is_empty());
    }
    // --password-stdin is required: there is no other way to give a password.
    let out = server
        .admin(&["user", "create", "carol", "--email", "c@example.com"], None)
        .await;
    assert!(!out.status.success());
    // Nothing of that was created: only alice's creation is in the log.
    assert_eq!(server.audit_events("carol").await.len(), 0);
    let events = server.audit_events("alice").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "account.create");
    assert_eq!(events[0].actor, "wharf-admin");
    // The user can log in right away through the running server.
    server.token("alice", PASSWORD).await;
}

async fn unknown_users_are_errors(backend: Backend) {
    let server = Server::start(&backend).await;
    for args in [
        vec!["user", "set-password", "ghost", "--password-stdin"],
        vec!["user", "2fa", "enable", "ghost"],
        vec!["user", "2fa", "disable", "ghost"],
    ] {
        let out = server.admin(&args, Some("long-enough-password\n")).await;
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    }
}

async fn changes_are_audited(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    let runs: [(&[&str], Option<&str>); 3] = [
        (
            &["user", "set-password", "alice", "--password-stdin"],
            Some("another-password\n"),
        ),
        (&["user", "2fa", "enable", "alice"], None),
        (&["user", "2fa", "disable", "alice"], None),
    ];
    for (args, stdin) in runs {
        assert!(server.admin(args, stdin).await.status.success());
    }
    let actions: Vec<String> = server
        .audit_events("alice")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "account.2fa.disable",
            "account.2fa.enable",
            "account.password.change",
            "account.create"
        ]
    );
}

async fn first_start_explains_how_to_create_a_user(backend: Backend) {
    let server = Server::start(&backend).await;
    // The hint is logged right before "listening", which the harness waited for.
    assert!(
        server.log_text().contains("wharf admin user create"),
        "no first-user hint in:\n{}",
        server.log_text()
    );
}

/// `wharf admin backup FILE`: on SQLite, a consistent copy taken beside the running server
/// (a store opened on it has the data), never over an existing file; on PostgreSQL a refusal
/// that names pg_dump.
async fn backs_up_the_store(backend: Backend) {
    let server = Server::start(&backend).await;
    server.create_user("alice").await;
    server.create_org("acme", "alice").await;
    let file = server.data_dir.join("backup.db");
    let path = file.to_str().expect("a UTF-8 path");
    let out = server.admin(&["backup", path], None).await;
    if matches!(backend, Backend::Postgres(_)) {
        assert!(!out.status.success());
        assert!(stderr(&out).contains("pg_dump"), "{}", stderr(&out));
        return;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = wharf::store::Store::connect(&format!("sqlite://{path}"))
        .await
        .expect("open the backup");
    let alice = copy.user_by_name("alice").await.expect("read the backup");
    assert!(alice.is_some(), "the backup has the users");
    assert!(
        copy.org_by_name("acme").await.expect("read").is_some(),
        "and the organizations"
    );
    copy.close().await;
    // Never over an existing file.
    let again = server.admin(&["backup", path], None).await;
    assert!(!again.status.success());
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
}

crate::both_backends!(
    backs_up_the_store,
    create_user_and_refuse_bad_input,
    unknown_users_are_errors,
    changes_are_audited,
    first_start_explains_how_to_create_a_user,
);
