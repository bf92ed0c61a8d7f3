//! The OpenAPI document, assembled from the `#[utoipa::path]` of every route (routes are
//! registered through `utoipa_axum`, so a route cannot exist without its description).
//! Served at `GET /openapi.json` and `GET /v2/openapi.json` (Wharf extensions).

use axum::{Extension, Json};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

/// The error body of the Hub API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub message: String,
    /// Additional context, when available.
    pub errinfo: Option<serde_json::Value>,
    /// The same text as `message`, for older clients.
    pub detail: String,
}

/// The error responses of a Hub route, each with the Hub error body: `responses(…,
/// WriteErrors)` instead of one line per status on every route.
fn error_responses(
    statuses: &[(u16, &str)],
) -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
    statuses
        .iter()
        .map(|(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content("application/json", content)
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// 401, 403 and 404: the errors of a read.
pub struct ReadErrors;

impl IntoResponses for ReadErrors {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[(401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found")])
    }
}

/// 400, 401, 403 and 404: the errors of a change or a read with parameters.
pub struct WriteErrors;

impl IntoResponses for WriteErrors {
    fn responses() -> std::collections::BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        error_responses(&[
            (400, "Bad Request"),
            (401, "Unauthorized"),
            (403, "Forbidden"),
            (404, "Not Found"),
        ])
    }
}

/// Tag of the routes Wharf adds beyond the official API.
pub const EXTENSION_TAG: &str = "wharf-extensions";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Wharf: Docker Hub API",
        description = "The Docker Hub API (v2) as served by Wharf. Routes tagged `wharf-extensions` are Wharf extensions beyond the official API.",
    ),
    paths(
        document,
        document_at_root,
        crate::http::metrics::healthz,
        crate::http::metrics::readyz,
        crate::http::metrics::metrics
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags((name = "wharf-extensions", description = "Wharf extensions: not part of the official Docker Hub API")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearerAuth", SecurityScheme::Http(scheme));
        // The organization's SCIM token, on `/v2/scim/2.0` only.
        components.add_security_scheme(
            "scimToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // Routes without an explicit `security(…)` need a bearer token.
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearerAuth",
            Vec::<String>::new(),
        )]);
    }
}

/// The OpenAPI document of this server.
#[utoipa::path(
    get,
    path = "/v2/openapi.json",
    tag = "wharf-extensions",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn document(Extension(doc): Extension<std::sync::Arc<OpenApiDoc>>) -> Json<OpenApiDoc> {
    Json((*doc).clone())
}

/// The OpenAPI document of this server, at the root.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "wharf-extensions",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn document_at_root(doc: Extension<std::sync::Arc<OpenApiDoc>>) -> Json<OpenApiDoc> {
    document(doc).await
}
