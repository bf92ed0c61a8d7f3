//! Invites: `POST /v2/invites/bulk` with a status per invitee, the organization's pending
//! invites, cancel and resend; and the invitee's side (extensions): their pending invites,
//! accept and decline. Who may do each, with which credential, and the audit trail of every
//! change. Every refused request is also checked to change nothing.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use wharf::store::AuditRow;

use crate::harness::{audit_data, forbidden_and_anonymous, keys, parse_time, Backend, Server};

const ORG: &str = "acme";
const OWNER: &str = "olivia";
const MEMBER: &str = "mark";
/// Users with an account, outside the organization.
const BOBBY: &str = "bobby";
const DAVE: &str = "dave";
const BULK: &str = "/v2/invites/bulk";
const MY_INVITES: &str = "/v2/user/invites";
/// Every field of an invite.
const INVITE_FIELDS: [&str; 7] = [
    "id",
    "inviter_username",
    "invitee",
    "org",
    "team",
    "role",
    "created_at",
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A server with organization [`ORG`] (its owner and a member) and the users [`BOBBY`] and
/// [`DAVE`] outside it, each with a password session.
struct World {
    server: Server,
    owner: String,
    member: String,
    bobby: String,
    dave: String,
}

async fn world(backend: &Backend) -> World {
    let server = Server::start(backend).await;
    let owner = server.user_with_token(OWNER).await;
    let member = server.user_with_token(MEMBER).await;
    let bobby = server.user_with_token(BOBBY).await;
    let dave = server.user_with_token(DAVE).await;
    server.create_org(ORG, OWNER).await;
    server.add_org_member(ORG, MEMBER, "member").await;
    World {
        server,
        owner,
        member,
        bobby,
        dave,
    }
}

fn org_invites() -> String {
    format!("/v2/orgs/{ORG}/invites")
}

fn invite_path(id: &str) -> String {
    format!("/v2/invites/{id}")
}

fn accept_path(id: &str) -> String {
    format!("/v2/invites/{id}/accept")
}

fn decline_path(id: &str) -> String {
    format!("/v2/invites/{id}/decline")
}

fn resend_path(id: &str) -> String {
    format!("/v2/invites/{id}/resend")
}

/// A request without a body that must answer 204 (accept, decline) and has none.
async fn no_content(server: &Server, method: Method, path: &str, token: &str) {
    let body = server
        .expect(method, path, Some(token), None, StatusCode::NO_CONTENT)
        .await;
    assert_eq!(body, Value::Null, "204 with a body");
}

/// `GET path` as `token`, which must be 200; returns the body.
async fn read(server: &Server, path: &str, token: &str) -> Value {
    server
        .expect(Method::GET, path, Some(token), None, StatusCode::OK)
        .await
}

/// Asserts that the holder of `token` may neither accept nor decline the invite `id`.
async fn answer_refused(server: &Server, id: &str, token: Option<&str>, expected: StatusCode) {
    for path in [accept_path(id), decline_path(id)] {
        server.refused(Method::POST, &path, token, None, expected).await;
    }
}

/// A bulk invite that must be accepted (202); returns the outcome per invitee.
async fn bulk(server: &Server, token: &str, body: Value) -> Vec<Value> {
    let answer = server
        .expect(Method::POST, BULK, Some(token), Some(body), StatusCode::ACCEPTED)
        .await;
    answer["invitees"]
        .as_array()
        .unwrap_or_else(|| panic!("no invitees in {answer}"))
        .clone()
}

/// The `(invitee, status)` pairs of a bulk answer.
fn statuses(outcomes: &[Value]) -> Vec<(String, String)> {
    outcomes
        .iter()
        .map(|o| {
            let field = |name: &str| {
                o[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {name} in {o}"))
                    .to_string()
            };
            (field("invitee"), field("status"))
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// A bulk request inviting `invitee` to [`ORG`], with the fields of `extra` (team, role)
/// added, or put in place of the usual ones.
fn invite_body(invitee: &str, extra: Value) -> Value {
    let mut body = json!({"org": ORG, "invitees": [invitee]});
    for (key, value) in extra.as_object().expect("extra fields").iter() {
        body[key] = value.clone();
    }
    body
}

/// Invites one invitee with `extra` request fields (team, role); returns the new invite.
async fn invite(w: &World, invitee: &str, extra: Value) -> Value {
    let outcomes = bulk(&w.server, &w.owner, invite_body(invitee, extra)).await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0]["status"], "invited", "{}", outcomes[0]);
    outcomes[0]["invite"].clone()
}

fn id_of(invite: &Value) -> String {
    invite["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {invite}"))
        .to_string()
}

/// The `data` list of a `{"data": [invite…]}` answer of `path` as `token`.
async fn invite_list(server: &Server, path: &str, token: &str) -> Vec<Value> {
    let answer = read(server, path, token).await;
    answer["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {answer}"))
        .clone()
}

/// The organization's pending invites, as its owner sees them.
async fn pending(w: &World) -> Vec<Value> {
    invite_list(&w.server, &org_invites(), &w.owner).await
}

/// `username`'s entry in the organization's member list, if they are a member.
async fn member_entry(w: &World, username: &str) -> Option<Value> {
    let path = format!("/v2/orgs/{ORG}/members?search={username}");
    let page = read(&w.server, &path, &w.owner).await;
    page["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|m| m["username"] == username)
        .cloned()
}

/// The events of [`ORG`] with `action` made over HTTP, newest first (the set-up's own,
/// through `wharf admin`, are not under test).
async fn events(server: &Server, action: &str) -> Vec<AuditRow> {
    server
        .audit_events(ORG)
        .await
        .into_iter()
        .filter(|e| e.action == action && e.actor != "wharf-admin")
        .collect()
}

fn assert_invite_shape(invite: &Value) {
    assert_eq!(keys(invite), BTreeSet::from(INVITE_FIELDS), "fields of {invite}");
    for field in INVITE_FIELDS {
        assert!(invite[field].is_string(), "{field} is a string in {invite}");
    }
    parse_time(&invite["created_at"]);
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// One bulk request with every status; the invites it creates, as the bulk answer, the
/// organization's list and the audit log show them; a second request finds them pending.
async fn bulk_invite_statuses(backend: Backend) {
    let w = world(&backend).await;
    let request = json!({
        "org": ORG,
        "invitees": ["Bobby", MEMBER, OWNER, "nosuchuser", "not-an-email@", "newbie@example.com", "dave@example.com"],
    });
    let outcomes = bulk(&w.server, &w.owner, request).await;
    assert_eq!(
        statuses(&outcomes),
        pairs(&[
            ("Bobby", "invited"),
            (MEMBER, "existing_org_member"),
            (OWNER, "existing_org_member"),
            ("nosuchuser", "invalid_email_or_docker_id"),
            ("not-an-email@", "invalid_email_or_docker_id"),
            ("newbie@example.com", "invited"),
            ("dave@example.com", "invited"),
        ])
    );
    let mut created = Vec::new();
    for outcome in &outcomes {
        if outcome["status"] == "invited" {
            let invite = &outcome["invite"];
            assert_invite_shape(invite);
            assert_eq!(invite["inviter_username"], OWNER);
            assert_eq!(invite["org"], ORG);
            assert_eq!(invite["team"], "", "no team");
            assert_eq!(invite["role"], "member", "the default role");
            created.push(invite.clone());
        } else {
            assert!(outcome.get("invite").is_none(), "no invite for {outcome}");
        }
    }
    assert_eq!(created[1]["invitee"], "newbie@example.com");
    assert_eq!(created[2]["invitee"], "dave@example.com");
    assert_eq!(
        pending(&w).await,
        created,
        "the pending list shows the new invites"
    );

    // Docker IDs are case-insensitive: `Bobby` invited the user bobby, who sees it; and an
    // email address of an account reaches that account.
    assert_eq!(
        invite_list(&w.server, MY_INVITES, &w.bobby).await,
        vec![created[0].clone()]
    );
    assert_eq!(
        invite_list(&w.server, MY_INVITES, &w.dave).await,
        vec![created[2].clone()]
    );

    // Asked again, in any spelling, they are already invited, and the pending invite is
    // returned.
    let again = json!({"org": ORG, "invitees": [BOBBY, "NEWBIE@example.com", DAVE, MEMBER]});
    let outcomes = bulk(&w.server, &w.owner, again).await;
    assert_eq!(
        statuses(&outcomes),
        pairs(&[
            (BOBBY, "already_invited"),
            ("NEWBIE@example.com", "already_invited"),
            (DAVE, "already_invited"),
            (MEMBER, "existing_org_member"),
        ])
    );
    for (outcome, invite) in outcomes.iter().zip(&created) {
        assert_eq!(&outcome["invite"], invite);
    }
    assert_eq!(pending(&w).await, created, "nothing new");

    let sent = events(&w.server, "org.member.invite.send").await;
    assert_eq!(sent.len(), 3, "one event per created invite: {sent:?}");
    for (event, invite) in sent.iter().rev().zip(&created) {
        assert_eq!(Some(event.name.as_str()), invite["invitee"].as_str());
        assert_eq!(event.actor, OWNER);
        assert_eq!(audit_data(event)["invite_id"], invite["id"]);
        assert_eq!(audit_data(event)["role"], "member");
    }
}

/// A dry run answers with the statuses and creates nothing.
async fn dry_run_creates_nothing(backend: Backend) {
    let w = world(&backend).await;
    let existing = invite(&w, DAVE, json!({})).await;
    let request = json!({
        "org": ORG,
        "invitees": [BOBBY, MEMBER, "nosuchuser", "newbie@example.com", DAVE],
        "dry_run": true,
    });
    let outcomes = bulk(&w.server, &w.owner, request).await;
    assert_eq!(
        statuses(&outcomes),
        pairs(&[
            (BOBBY, "invited"),
            (MEMBER, "existing_org_member"),
            ("nosuchuser", "invalid_email_or_docker_id"),
            ("newbie@example.com", "invited"),
            (DAVE, "already_invited"),
        ])
    );
    assert_eq!(outcomes[4]["invite"], existing);
    assert_eq!(pending(&w).await, vec![existing], "a dry run creates nothing");
    assert!(invite_list(&w.server, MY_INVITES, &w.bobby).await.is_empty());
    assert_eq!(
        events(&w.server, "org.member.invite.send").await.len(),
        1,
        "and records nothing"
    );

    // The most invitees a request may name, in a dry run.
    let hundred: Vec<String> = (0..100).map(|i| format!("user{i}@example.com")).collect();
    let outcomes = bulk(
        &w.server,
        &w.owner,
        json!({"org": ORG, "invitees": hundred, "dry_run": true}),
    )
    .await;
    assert_eq!(outcomes.len(), 100);
    assert!(outcomes.iter().all(|o| o["status"] == "invited"));
    assert_eq!(pending(&w).await.len(), 1);
}

/// Bad bulk requests, and callers who may not invite: refused, and nothing changes.
async fn bulk_invite_refusals(backend: Backend) {
    let w = world(&backend).await;
    let outsider = w.server.user_with_token("oscar").await;
    w.server.create_org("globex", "oscar").await;
    let request = |extra: Value| invite_body(BOBBY, extra);
    let too_many: Vec<String> = (0..101).map(|i| format!("user{i}@example.com")).collect();
    for (body, expected) in [
        (request(json!({"team": "nosuchteam"})), StatusCode::NOT_FOUND),
        (request(json!({"role": "admin"})), StatusCode::BAD_REQUEST),
        (request(json!({"invitees": []})), StatusCode::BAD_REQUEST),
        (request(json!({"invitees": too_many})), StatusCode::BAD_REQUEST),
        (request(json!({"org": "nosuchorg"})), StatusCode::NOT_FOUND),
        (json!({"org": ORG}), StatusCode::BAD_REQUEST),
        (json!({"invitees": [BOBBY]}), StatusCode::BAD_REQUEST),
        (json!({"org": ORG, "invitees": BOBBY}), StatusCode::BAD_REQUEST),
    ] {
        w.server
            .refused(Method::POST, BULK, Some(&w.owner), Some(body), expected)
            .await;
    }
    let malformed = "{\"org\": \"acme\", \"invitees\": [";
    w.server
        .refused_raw(Method::POST, BULK, &w.owner, malformed, StatusCode::BAD_REQUEST)
        .await;

    // A member of the organization, and the owner of another one, may not invite.
    let callers = forbidden_and_anonymous(&[&w.member, &outsider, &w.bobby]);
    w.server
        .refused_to(&callers, Method::POST, BULK, Some(request(json!({}))))
        .await;

    assert!(pending(&w).await.is_empty(), "refusals create nothing");
    assert!(invite_list(&w.server, MY_INVITES, &w.bobby).await.is_empty());
    assert!(events(&w.server, "org.member.invite.send").await.is_empty());
}

/// The organization's invite list: pending invites only, for owners only.
async fn org_invite_list_and_readers(backend: Backend) {
    let w = world(&backend).await;
    let editor = w.server.user_with_token("edith").await;
    w.server.add_org_member(ORG, "edith", "editor").await;
    assert!(pending(&w).await.is_empty());
    let bobby = invite(&w, BOBBY, json!({})).await;
    let dave = invite(&w, DAVE, json!({})).await;
    let newbie = invite(&w, "newbie@example.com", json!({})).await;
    assert_eq!(
        pending(&w).await,
        vec![bobby.clone(), dave.clone(), newbie.clone()]
    );

    // Answered and cancelled invites leave the list.
    no_content(&w.server, Method::POST, &accept_path(&id_of(&bobby)), &w.bobby).await;
    no_content(&w.server, Method::POST, &decline_path(&id_of(&dave)), &w.dave).await;
    assert_eq!(pending(&w).await, vec![newbie.clone()]);
    no_content(&w.server, Method::DELETE, &invite_path(&id_of(&newbie)), &w.owner).await;
    assert!(pending(&w).await.is_empty());

    // Members and editors may not read it (an invite names people outside the organization).
    invite(&w, DAVE, json!({})).await;
    let callers = forbidden_and_anonymous(&[&w.member, &editor, &w.bobby]);
    w.server
        .refused_to(&callers, Method::GET, &org_invites(), None)
        .await;
    let (elsewhere, owner) = ("/v2/orgs/nosuchorg/invites", Some(w.owner.as_str()));
    w.server
        .refused(Method::GET, elsewhere, owner, None, StatusCode::NOT_FOUND)
        .await;
}

/// Cancelling and resending: owners of the invite's organization only; a cancelled
/// invite is gone for everyone.
async fn cancel_and_resend(backend: Backend) {
    let w = world(&backend).await;
    let rival = w.server.user_with_token("gina").await;
    w.server.create_org("globex", "gina").await;
    let bobby = invite(&w, BOBBY, json!({})).await;
    let dave = invite(&w, DAVE, json!({})).await;
    let bobby_id = id_of(&bobby);

    // A member of the organization, the owner of another one, and the invitee.
    let callers = forbidden_and_anonymous(&[&w.member, &rival, &w.bobby]);
    for (method, path) in [
        (Method::DELETE, invite_path(&bobby_id)),
        (Method::PATCH, resend_path(&bobby_id)),
    ] {
        w.server.refused_to(&callers, method, &path, None).await;
    }
    assert_eq!(
        pending(&w).await,
        vec![bobby.clone(), dave.clone()],
        "refusals change nothing"
    );

    no_content(&w.server, Method::PATCH, &resend_path(&bobby_id), &w.owner).await;
    assert_eq!(
        pending(&w).await,
        vec![bobby.clone(), dave.clone()],
        "a resend keeps the invite"
    );
    let resent = events(&w.server, "org.member.invite.send").await;
    assert_eq!(resent.len(), 3, "two invites and one resend: {resent:?}");
    assert_eq!(audit_data(&resent[0])["invite_id"], bobby["id"]);
    assert_eq!(audit_data(&resent[0])["resent"], "true");

    no_content(&w.server, Method::DELETE, &invite_path(&bobby_id), &w.owner).await;
    assert_eq!(pending(&w).await, vec![dave.clone()]);
    assert!(invite_list(&w.server, MY_INVITES, &w.bobby).await.is_empty());
    let accept = accept_path(&bobby_id);
    w.server
        .refused(Method::POST, &accept, Some(&w.bobby), None, StatusCode::NOT_FOUND)
        .await;
    assert!(
        member_entry(&w, BOBBY).await.is_none(),
        "a cancelled invite cannot be accepted"
    );
    let nil = "00000000-0000-0000-0000-000000000000";
    for (method, path) in [
        (Method::DELETE, invite_path(&bobby_id)),
        (Method::PATCH, resend_path(&bobby_id)),
        (Method::DELETE, invite_path(nil)),
        (Method::PATCH, resend_path("nosuchinvite")),
    ] {
        w.server
            .refused(method, &path, Some(&w.owner), None, StatusCode::NOT_FOUND)
            .await;
    }

    let cancelled = events(&w.server, "org.member.invite.cancel").await;
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0].name, BOBBY);
    assert_eq!(cancelled[0].actor, OWNER);
    assert_eq!(audit_data(&cancelled[0])["invite_id"], bobby["id"]);
    // Once cancelled, the invitee may be invited again.
    let renewed = invite(&w, BOBBY, json!({})).await;
    assert_ne!(renewed["id"], bobby["id"]);
    assert_eq!(pending(&w).await, vec![dave, renewed]);
}

/// Accepting: the invitee joins with the invite's role and team, once; nobody else may
/// answer the invite.
async fn accept_with_role_and_team(backend: Backend) {
    let w = world(&backend).await;
    let team = Some(json!({"name": "devs"}));
    let groups = format!("/v2/orgs/{ORG}/groups");
    let created = w
        .server
        .expect(Method::POST, &groups, Some(&w.owner), team, StatusCode::CREATED)
        .await;
    assert_eq!(created["name"], "devs");
    let sent = invite(&w, BOBBY, json!({"team": "devs", "role": "Editor"})).await;
    assert_eq!((&sent["team"], &sent["role"]), (&json!("devs"), &json!("editor")));
    let id = id_of(&sent);
    assert_eq!(
        invite_list(&w.server, MY_INVITES, &w.bobby).await,
        vec![sent.clone()]
    );
    // Someone else's invite is not theirs to see or answer.
    assert!(invite_list(&w.server, MY_INVITES, &w.dave).await.is_empty());
    for (token, expected) in [
        (Some(w.dave.as_str()), StatusCode::NOT_FOUND),
        (Some(&w.owner), StatusCode::NOT_FOUND),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        answer_refused(&w.server, &id, token, expected).await;
    }
    assert_eq!(pending(&w).await, vec![sent.clone()], "refusals change nothing");
    answer_refused(&w.server, "nosuchinvite", Some(&w.bobby), StatusCode::NOT_FOUND).await;

    no_content(&w.server, Method::POST, &accept_path(&id), &w.bobby).await;
    let bobby = member_entry(&w, BOBBY).await.expect("bobby is a member");
    assert_eq!(bobby["role"], "Editor");
    assert_eq!(bobby["groups"], json!(["devs"]));
    let team = read(&w.server, &format!("{groups}/devs/members"), &w.owner).await;
    assert_eq!(team["results"][0]["username"], BOBBY);
    assert!(pending(&w).await.is_empty());
    assert!(invite_list(&w.server, MY_INVITES, &w.bobby).await.is_empty());
    // As a member, bobby now reads what members read.
    read(&w.server, &format!("/v2/orgs/{ORG}/members"), &w.bobby).await;
    answer_refused(&w.server, &id, Some(&w.bobby), StatusCode::NOT_FOUND).await;
    // A member is not invited again.
    let outcomes = bulk(&w.server, &w.owner, json!({"org": ORG, "invitees": [BOBBY]})).await;
    assert_eq!(statuses(&outcomes), pairs(&[(BOBBY, "existing_org_member")]));

    for action in [
        "org.member.add",
        "org.member.invite.accept",
        "org.team.member.add",
    ] {
        let found = events(&w.server, action).await;
        assert_eq!(found.len(), 1, "{action}: {found:?}");
        assert_eq!(found[0].name, BOBBY, "{action}");
        assert_eq!(found[0].actor, BOBBY, "{action}");
    }
    let added = events(&w.server, "org.member.add").await;
    assert_eq!(audit_data(&added[0])["role"], "editor");
    assert_eq!(
        audit_data(&events(&w.server, "org.member.invite.accept").await[0])["invite_id"],
        sent["id"]
    );
    assert_eq!(
        audit_data(&events(&w.server, "org.team.member.add").await[0])["team"],
        "devs"
    );
}

/// An email invite reaches the account that gets the address later; declining leaves the
/// invitee outside.
async fn email_invite_and_decline(backend: Backend) {
    let w = world(&backend).await;
    // carol has no account yet.
    let for_carol = invite(&w, "carol@example.com", json!({})).await;
    let carol = w.server.user_with_token("carol").await;
    assert_eq!(
        invite_list(&w.server, MY_INVITES, &carol).await,
        vec![for_carol.clone()]
    );
    assert!(invite_list(&w.server, MY_INVITES, &w.bobby).await.is_empty());
    // Her Docker ID names the same person: she is already invited.
    let outcomes = bulk(&w.server, &w.owner, json!({"org": ORG, "invitees": ["carol"]})).await;
    assert_eq!(statuses(&outcomes), pairs(&[("carol", "already_invited")]));
    assert_eq!(outcomes[0]["invite"], for_carol);
    assert_eq!(pending(&w).await, vec![for_carol.clone()]);

    let carol_id = id_of(&for_carol);
    let accept = accept_path(&carol_id);
    w.server
        .refused(Method::POST, &accept, Some(&w.bobby), None, StatusCode::NOT_FOUND)
        .await;
    assert!(member_entry(&w, BOBBY).await.is_none());
    no_content(&w.server, Method::POST, &accept_path(&carol_id), &carol).await;
    assert_eq!(
        member_entry(&w, "carol").await.expect("carol is a member")["role"],
        "Member"
    );
    assert!(invite_list(&w.server, MY_INVITES, &carol).await.is_empty());

    // dave declines an invite to be an owner.
    let for_dave = invite(&w, "dave@example.com", json!({"role": "owner"})).await;
    assert_eq!(for_dave["role"], "owner");
    let dave_id = id_of(&for_dave);
    no_content(&w.server, Method::POST, &decline_path(&dave_id), &w.dave).await;
    assert!(member_entry(&w, DAVE).await.is_none(), "declining joins nothing");
    assert!(pending(&w).await.is_empty());
    assert!(invite_list(&w.server, MY_INVITES, &w.dave).await.is_empty());
    answer_refused(&w.server, &dave_id, Some(&w.dave), StatusCode::NOT_FOUND).await;
    assert!(member_entry(&w, DAVE).await.is_none());

    let added = events(&w.server, "org.member.add").await;
    assert_eq!(
        added.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["carol"]
    );
    let accepted = events(&w.server, "org.member.invite.accept").await;
    assert_eq!(
        accepted.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["carol"]
    );
    let declined = events(&w.server, "org.member.invite.decline").await;
    assert_eq!(declined.len(), 1, "{declined:?}");
    assert_eq!(
        (declined[0].name.as_str(), declined[0].actor.as_str()),
        (DAVE, DAVE)
    );
    assert_eq!(audit_data(&declined[0])["invite_id"], for_dave["id"]);
}

/// Which credentials may answer invites (a user's password or a `repo:admin` PAT), and
/// which organization access tokens may read and send them.
async fn credentials(backend: Backend) {
    let w = world(&backend).await;
    let sent = invite(&w, BOBBY, json!({})).await;
    let id = id_of(&sent);

    let (read, _) = w
        .server
        .pat_session(BOBBY, &w.bobby, "read", &["repo:read"])
        .await;
    assert_eq!(
        invite_list(&w.server, MY_INVITES, &read).await,
        vec![sent.clone()],
        "reading needs any scope"
    );
    answer_refused(&w.server, &id, Some(&read), StatusCode::FORBIDDEN).await;

    let resources = |scope: &str| json!([{"type": "TYPE_ORG", "path": ORG, "scopes": [scope]}]);
    let (editor, _) = w
        .server
        .oat_session(&w.owner, ORG, resources("scope-invite-edit"))
        .await;
    // The organization is no invitee.
    for (method, path) in [
        (Method::GET, MY_INVITES.to_string()),
        (Method::POST, accept_path(&id)),
        (Method::POST, decline_path(&id)),
    ] {
        w.server
            .refused(method, &path, Some(&editor), None, StatusCode::FORBIDDEN)
            .await;
    }
    assert_eq!(pending(&w).await, vec![sent.clone()], "refusals change nothing");

    let (admin, _) = w
        .server
        .pat_session(BOBBY, &w.bobby, "admin", &["repo:admin"])
        .await;
    no_content(&w.server, Method::POST, &accept_path(&id), &admin).await;
    assert_eq!(
        member_entry(&w, BOBBY).await.expect("bobby joined")["role"],
        "Member"
    );
    let accepted = events(&w.server, "org.member.invite.accept").await;
    assert_eq!(accepted[0].credential.as_deref(), Some("admin"));

    // An OAT with scope-invite-edit invites in the organization's name.
    let outcomes = bulk(&w.server, &editor, json!({"org": ORG, "invitees": [DAVE]})).await;
    assert_eq!(statuses(&outcomes), pairs(&[(DAVE, "invited")]));
    let by_token = outcomes[0]["invite"].clone();
    assert_eq!(by_token["inviter_username"], ORG);
    assert_eq!(
        invite_list(&w.server, &org_invites(), &editor).await,
        vec![by_token.clone()]
    );
    let sent_events = events(&w.server, "org.member.invite.send").await;
    assert_eq!(
        (sent_events[0].name.as_str(), sent_events[0].actor.as_str()),
        (DAVE, ORG)
    );
    assert_eq!(sent_events[0].credential.as_deref(), Some("test token"));

    // scope-invite-read lists, and does nothing else.
    let (reader, _) = w
        .server
        .oat_session(&w.owner, ORG, resources("scope-invite-read"))
        .await;
    assert_eq!(
        invite_list(&w.server, &org_invites(), &reader).await,
        vec![by_token.clone()]
    );
    let newbie = Some(json!({"org": ORG, "invitees": ["newbie@example.com"]}));
    let by_token_id = id_of(&by_token);
    for (method, path, body) in [
        (Method::POST, BULK.to_string(), newbie),
        (Method::DELETE, invite_path(&by_token_id), None),
        (Method::PATCH, resend_path(&by_token_id), None),
    ] {
        w.server
            .refused(method, &path, Some(&reader), body, StatusCode::FORBIDDEN)
            .await;
    }
    assert_eq!(pending(&w).await, vec![by_token], "refusals change nothing");
}

crate::both_backends!(
    bulk_invite_statuses,
    dry_run_creates_nothing,
    bulk_invite_refusals,
    org_invite_list_and_readers,
    cancel_and_resend,
    accept_with_role_and_team,
    email_invite_and_decline,
    credentials,
);
