//! The Docker Hub API, one module per API group of the official spec.

pub mod access_tokens;
pub mod auth;
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
        .routes(routes!(access_tokens::create, access_tokens::list))
        .routes(routes!(
            access_tokens::get,
            access_tokens::update,
            access_tokens::delete
        ))
}
