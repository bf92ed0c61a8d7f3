//! The store test suite: the same checks on SQLite and PostgreSQL, through the store's own
//! interface (no server).

use wharf::store::{now_micros, AuditRow, ChallengeState, NewPat, NewUser, PatUpdate, Store, StoreError};

use crate::harness::{Backend, TestDatabase};

async fn open(backend: &Backend) -> (Store, TestDatabase, Option<std::path::PathBuf>) {
    let db = TestDatabase::create(backend).await;
    match &db.url {
        Some(url) => (Store::connect(url).await.expect("connect"), db, None),
        None => {
            let dir = std::env::temp_dir().join(format!("wharf-store-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&dir).unwrap();
            let store = Store::connect(&Store::sqlite_url_in(&dir))
                .await
                .expect("connect");
            (store, db, Some(dir))
        }
    }
}

fn user<'a>(id: &'a str, name: &'a str, email: &'a str) -> NewUser<'a> {
    NewUser {
        id,
        username: name,
        email,
        password_hash: "hash",
        created_at: now_micros(),
    }
}

fn pat<'a>(id: &'a str, user_id: &'a str, hash: &'a str, created_at: i64) -> NewPat<'a> {
    NewPat {
        id,
        user_id,
        label: "label",
        secret_sha256: hash,
        scopes: "repo:read",
        client_id: "HUB",
        generated_by: "manual",
        creator_ip: "127.0.0.1",
        creator_ua: "test",
        created_at,
        expires_at: None,
    }
}

async fn users(backend: Backend) {
    let (store, _db, _dir) = open(&backend).await;
    let mut tx = store.begin().await.unwrap();
    store
        .insert_user(&mut tx, user("u1", "alice", "a@example.com"))
        .await
        .unwrap();
    wharf::store::commit(tx).await.unwrap();
    for (id, name, email) in [("u2", "alice", "b@example.com"), ("u3", "bobby", "a@example.com")] {
        let mut tx = store.begin().await.unwrap();
        let err = store
            .insert_user(&mut tx, user(id, name, email))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
    assert_eq!(store.count_users().await.unwrap(), 1);
    let alice = store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(
        (alice.id.as_str(), alice.password_epoch, alice.is_active),
        ("u1", 0, true)
    );
    assert!(store.user_by_id("nope").await.unwrap().is_none());

    let mut tx = store.begin().await.unwrap();
    store.set_password(&mut tx, "u1", "new-hash").await.unwrap();
    store
        .set_totp_secret(&mut tx, "u1", Some("SECRET"))
        .await
        .unwrap();
    wharf::store::commit(tx).await.unwrap();
    let alice = store.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!(
        (alice.password_hash.as_str(), alice.password_epoch),
        ("new-hash", 1)
    );
    assert_eq!(alice.totp_secret.as_deref(), Some("SECRET"));

    // The replay guard: each step once, never an older one.
    assert!(store.claim_totp_step("u1", 100).await.unwrap());
    assert!(!store.claim_totp_step("u1", 100).await.unwrap());
    assert!(!store.claim_totp_step("u1", 99).await.unwrap());
    assert!(store.claim_totp_step("u1", 101).await.unwrap());

    // A rolled-back transaction leaves nothing.
    let mut tx = store.begin().await.unwrap();
    store
        .insert_user(&mut tx, user("u9", "ghost", "g@example.com"))
        .await
        .unwrap();
    drop(tx);
    assert!(store.user_by_name("ghost").await.unwrap().is_none());
    store.close().await;
}

async fn personal_access_tokens(backend: Backend) {
    let (store, _db, _dir) = open(&backend).await;
    let mut tx = store.begin().await.unwrap();
    store
        .insert_user(&mut tx, user("u1", "alice", "a@example.com"))
        .await
        .unwrap();
    store
        .insert_user(&mut tx, user("u2", "bobby", "b@example.com"))
        .await
        .unwrap();
    for (i, id) in ["t1", "t2", "t3"].into_iter().enumerate() {
        store
            .insert_pat(&mut tx, pat(id, "u1", &format!("hash{i}"), 1000 + i as i64))
            .await
            .unwrap();
    }
    wharf::store::commit(tx).await.unwrap();
    // (A failed statement aborts a PostgreSQL transaction, so the conflict gets its own.)
    let mut tx = store.begin().await.unwrap();
    let err = store
        .insert_pat(&mut tx, pat("t4", "u1", "hash0", 2000))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    drop(tx);

    let (rows, total, active) = store.list_pats("u1", 0, 2, now_micros()).await.unwrap();
    assert_eq!((total, active), (3, 3));
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["t3", "t2"]
    );
    let (rows, _, _) = store.list_pats("u1", 2, 2, now_micros()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(store.list_pats("u2", 0, 10, now_micros()).await.unwrap().1, 0);

    assert_eq!(store.pat_by_secret_hash("hash1").await.unwrap().unwrap().id, "t2");
    assert!(
        store.pat("u2", "t1").await.unwrap().is_none(),
        "another user's token is not found"
    );

    let mut tx = store.begin().await.unwrap();
    let update = PatUpdate {
        label: Some("renamed"),
        is_active: Some(false),
    };
    assert!(store.update_pat(&mut tx, "u1", "t1", &update).await.unwrap());
    assert!(!store.update_pat(&mut tx, "u2", "t1", &update).await.unwrap());
    assert!(store.delete_pat(&mut tx, "u1", "t2").await.unwrap());
    assert!(!store.delete_pat(&mut tx, "u1", "t2").await.unwrap());
    wharf::store::commit(tx).await.unwrap();
    let t1 = store.pat("u1", "t1").await.unwrap().unwrap();
    assert_eq!((t1.label.as_str(), t1.is_active), ("renamed", false));
    let (_, total, active) = store.list_pats("u1", 0, 10, now_micros()).await.unwrap();
    assert_eq!((total, active), (2, 1));
    store.touch_pat("t3", 42).await.unwrap();
    assert_eq!(
        store.pat("u1", "t3").await.unwrap().unwrap().last_used_at,
        Some(42)
    );
    store.close().await;
}

async fn challenges_keys_and_audit(backend: Backend) {
    let (store, _db, _dir) = open(&backend).await;
    let mut tx = store.begin().await.unwrap();
    store
        .insert_user(&mut tx, user("u1", "alice", "a@example.com"))
        .await
        .unwrap();
    wharf::store::commit(tx).await.unwrap();

    let now = now_micros();
    store
        .insert_challenge("c1", "u1", now + 60_000_000)
        .await
        .unwrap();
    store.insert_challenge("c2", "u1", now - 1).await.unwrap();
    let open = ChallengeState::Open { user_id: "u1".into() };
    assert_eq!(store.attempt_challenge("c1", now, 2).await.unwrap(), open);
    assert_eq!(store.attempt_challenge("c1", now, 2).await.unwrap(), open);
    assert_eq!(
        store.attempt_challenge("c1", now, 2).await.unwrap(),
        ChallengeState::Gone
    );
    assert_eq!(
        store.attempt_challenge("c2", now, 2).await.unwrap(),
        ChallengeState::Gone
    );
    assert!(store.consume_challenge("c1").await.unwrap());
    assert!(!store.consume_challenge("c1").await.unwrap());
    assert_eq!(store.prune_challenges(now).await.unwrap(), 1);

    let first = store.signing_key_or_insert("k", "one", now).await.unwrap();
    let second = store.signing_key_or_insert("k", "two", now).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));

    let event = |action: &str, at: i64| AuditRow {
        account: "alice".into(),
        action: action.into(),
        name: "alice".into(),
        actor: "alice".into(),
        credential: None,
        data: "{}".into(),
        created_at: at,
    };
    let mut tx = store.begin().await.unwrap();
    store.insert_audit(&mut tx, &event("a.one", 1)).await.unwrap();
    store.insert_audit(&mut tx, &event("a.two", 2)).await.unwrap();
    wharf::store::commit(tx).await.unwrap();
    let events = store.recent_audit("alice", 10).await.unwrap();
    assert_eq!(events, vec![event("a.two", 2), event("a.one", 1)]);
    assert!(store.recent_audit("bobby", 10).await.unwrap().is_empty());
    store.close().await;
}

/// Several connections writing at once (as `wharf admin` beside the server does) all land.
async fn concurrent_writers(backend: Backend) {
    let (store, _db, _dir) = open(&backend).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let (id, name, email) = (
                format!("u{i}"),
                format!("user{i:04}"),
                format!("u{i}@example.com"),
            );
            store
                .insert_user(&mut tx, user(&id, &name, &email))
                .await
                .unwrap();
            wharf::store::commit(tx).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.count_users().await.unwrap(), 16);
    store.close().await;
}

crate::both_backends!(
    users,
    personal_access_tokens,
    challenges_keys_and_audit,
    concurrent_writers
);
