//! The Docker Hub API, one module per API group of the official spec.

pub mod access_tokens;
pub mod auditlogs;
pub mod auth;
pub mod groups;
pub mod invites;
pub mod members;
pub mod org_access_tokens;
pub mod orgs;
pub mod repositories;
pub mod repository_groups;
pub mod tags;
pub mod user;
pub mod users;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

/// Every Hub route, each registered together with its OpenAPI description.
pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(users::login))
        .routes(routes!(users::login_second_factor))
        .routes(routes!(auth::create_token))
        .routes(routes!(user::current))
        .routes(routes!(orgs::mine))
        .routes(routes!(invites::mine))
        .routes(routes!(access_tokens::create, access_tokens::list))
        .routes(routes!(
            access_tokens::get,
            access_tokens::update,
            access_tokens::delete
        ))
        .routes(routes!(orgs::create))
        .routes(routes!(orgs::get))
        .routes(routes!(orgs::get_settings, orgs::put_settings))
        .routes(routes!(orgs::scim_token))
        .routes(routes!(members::list))
        .routes(routes!(members::export))
        .routes(routes!(members::update, members::remove))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get, groups::put, groups::patch, groups::delete))
        .routes(routes!(groups::members, groups::add_member))
        .routes(routes!(groups::remove_member))
        .routes(routes!(org_access_tokens::create, org_access_tokens::list))
        .routes(routes!(
            org_access_tokens::get,
            org_access_tokens::update,
            org_access_tokens::delete
        ))
        .routes(routes!(invites::list_for_org))
        .routes(routes!(invites::bulk))
        .routes(routes!(invites::cancel))
        .routes(routes!(invites::resend))
        .routes(routes!(invites::accept))
        .routes(routes!(invites::decline))
        .routes(routes!(user::profile))
        .routes(routes!(auditlogs::list))
        .routes(routes!(auditlogs::actions))
        .routes(routes!(repositories::list, repositories::create))
        .routes(routes!(repositories::get, repositories::head))
        .routes(routes!(repositories::update_immutable_tags))
        .routes(routes!(repositories::verify_immutable_tags))
        .routes(routes!(tags::list, tags::head_list))
        .routes(routes!(tags::get, tags::head))
        .routes(routes!(repositories::legacy_create))
        .routes(routes!(repositories::legacy_list, repositories::legacy_create_in))
        .routes(routes!(
            repositories::legacy_get,
            repositories::legacy_head,
            repositories::update,
            repositories::delete
        ))
        .routes(routes!(repositories::privacy))
        .routes(routes!(tags::legacy_list))
        .routes(routes!(tags::legacy_get, tags::delete))
        .routes(routes!(repository_groups::create, repository_groups::list))
        .routes(routes!(
            repository_groups::get,
            repository_groups::update,
            repository_groups::delete
        ))
}
