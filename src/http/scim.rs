//! SCIM 2.0 (`/v2/scim/2.0`): the service provider an identity provider provisions an
//! organization through. The organization's SCIM token authenticates every request (see
//! [`ScimOrg`]); responses and errors are `application/scim+json`. What each operation
//! does is in [`crate::domain::scim`]; the handlers only extract and render.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use crate::app::App;
use crate::domain::scim::query::{ListParams, Projection, Resource};
use crate::domain::scim::schema;
use crate::domain::Error;
use crate::http::auth::bearer_token;
use crate::http::error::{ApiError, Scim, ScimResult, SCIM_MEDIA_TYPE};
use crate::http::extract::{public_base, JsonBody};
use crate::store::OrgRow;

/// Where the SCIM routes live.
pub const BASE_PATH: &str = "/v2/scim/2.0";

/// The organization whose SCIM token the request carries, and the base URL of resource
/// locations. Any other credential, or none, is a 401.
pub struct ScimOrg {
    pub org: OrgRow,
    pub base: String,
}

impl FromRequestParts<App> for ScimOrg {
    type Rejection = ApiError<Scim>;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| Error::unauthorized("a SCIM token is required"))?;
        let org = app.scim_org(token).await?;
        let base = format!("{}{BASE_PATH}", public_base(parts, &app.settings));
        Ok(ScimOrg { org, base })
    }
}

/// A SCIM response: JSON as `application/scim+json`, with `Location` for a creation.
pub struct ScimJson {
    status: StatusCode,
    body: Value,
}

impl ScimJson {
    fn ok(body: Value) -> ScimJson {
        ScimJson {
            status: StatusCode::OK,
            body,
        }
    }

    fn created(body: Value) -> ScimJson {
        ScimJson {
            status: StatusCode::CREATED,
            body,
        }
    }
}

impl IntoResponse for ScimJson {
    fn into_response(self) -> Response {
        let location = (self.status == StatusCode::CREATED)
            .then(|| self.body["meta"]["location"].as_str().map(str::to_string))
            .flatten();
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_MEDIA_TYPE));
        if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

/// A SCIM request body: malformed JSON is a SCIM 400 `invalidSyntax`.
type Body = JsonBody<Value, Scim>;

/// `attributes`/`excludedAttributes` of a single-resource read.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionParams {
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ProjectionParams {
    fn projection(&self, resource: Resource) -> crate::domain::Result<Projection> {
        Projection::new(
            resource,
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

/// Query parameters in SCIM's error format.
pub struct ScimQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, St: Send + Sync> FromRequestParts<St> for ScimQuery<T> {
    type Rejection = ApiError<Scim>;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let value = serde_urlencoded::from_str(query).map_err(|e| {
            Error::scim(
                crate::domain::ScimErrorKind::InvalidValue,
                format!("invalid query parameters: {e}"),
            )
        })?;
        Ok(ScimQuery(value))
    }
}

// ---- Discovery --------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/ServiceProviderConfig",
    tag = "scim",
    operation_id = "getV2Scim20ServiceProviderConfig",
    security(("scimToken" = [])),
    responses(
        (status = 200, description = "What this service provider supports", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn service_provider_config(scim: ScimOrg) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(schema::service_provider_config(&scim.base)))
}

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/ResourceTypes",
    tag = "scim",
    operation_id = "getV2Scim20ResourceTypes",
    security(("scimToken" = [])),
    responses(
        (status = 200, description = "The resource types", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn resource_types(scim: ScimOrg) -> ScimResult<ScimJson> {
    let types = schema::resource_types(&scim.base);
    let total = types.len() as i64;
    Ok(ScimJson::ok(schema::list_response(types, total, 1)))
}

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/ResourceTypes/{name}",
    tag = "scim",
    operation_id = "getV2Scim20ResourceTypesByName",
    security(("scimToken" = [])),
    params(("name" = String, Path, description = "`User` or `Group`")),
    responses(
        (status = 200, description = "The resource type", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such resource type"),
    )
)]
pub async fn resource_type(scim: ScimOrg, Path(name): Path<String>) -> ScimResult<ScimJson> {
    let doc = schema::resource_type(&scim.base, &name)
        .ok_or_else(|| Error::not_found(format!("resource type {name:?} not found")))?;
    Ok(ScimJson::ok(doc))
}

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/Schemas",
    tag = "scim",
    operation_id = "getV2Scim20Schemas",
    security(("scimToken" = [])),
    responses(
        (status = 200, description = "The schemas", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn schemas(scim: ScimOrg) -> ScimResult<ScimJson> {
    let schemas = schema::schemas(&scim.base);
    let total = schemas.len() as i64;
    Ok(ScimJson::ok(schema::list_response(schemas, total, 1)))
}

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/Schemas/{id}",
    tag = "scim",
    operation_id = "getV2Scim20SchemasById",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The schema URN")),
    responses(
        (status = 200, description = "The schema", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such schema"),
    )
)]
pub async fn schema_by_id(scim: ScimOrg, Path(id): Path<String>) -> ScimResult<ScimJson> {
    let doc = schema::schema(&scim.base, &id)
        .ok_or_else(|| Error::not_found(format!("schema {id:?} not found")))?;
    Ok(ScimJson::ok(doc))
}

// ---- Users ------------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/Users",
    tag = "scim",
    operation_id = "getV2Scim20Users",
    security(("scimToken" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of provisioned users", content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter (`invalidFilter`) or parameter"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn list_users(
    State(app): State<App>,
    scim: ScimOrg,
    ScimQuery(params): ScimQuery<ListParams>,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(
        app.scim_list_users(&scim.org, &scim.base, &params).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v2/scim/2.0/Users",
    tag = "scim",
    operation_id = "postV2Scim20Users",
    security(("scimToken" = [])),
    request_body(content = Object, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "Provisioned", content_type = "application/scim+json"),
        (status = 400, description = "Invalid attributes"),
        (status = 401, description = "No valid SCIM token"),
        (status = 409, description = "The userName is already provisioned (`uniqueness`)"),
    )
)]
pub async fn create_user(
    State(app): State<App>,
    scim: ScimOrg,
    JsonBody(body, _): Body,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::created(
        app.scim_create_user(&scim.org, &scim.base, &body).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/Users/{id}",
    tag = "scim",
    operation_id = "getV2Scim20UsersById",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The user's id"), ProjectionParams),
    responses(
        (status = 200, description = "The user", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such provisioned user"),
    )
)]
pub async fn get_user(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
    ScimQuery(params): ScimQuery<ProjectionParams>,
) -> ScimResult<ScimJson> {
    let projection = params.projection(Resource::User)?;
    Ok(ScimJson::ok(
        app.scim_get_user(&scim.org, &scim.base, &id, &projection).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v2/scim/2.0/Users/{id}",
    tag = "scim",
    operation_id = "putV2Scim20UsersById",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "Replaced; without `active`, deactivated", content_type = "application/scim+json"),
        (status = 400, description = "Invalid attributes"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such provisioned user"),
        (status = 409, description = "The userName is taken (`uniqueness`)"),
    )
)]
pub async fn replace_user(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
    JsonBody(body, _): Body,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(
        app.scim_replace_user(&scim.org, &scim.base, &id, &body).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/v2/scim/2.0/Users/{id}",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimPatchUser",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The user's id")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "Changed (extension: not in the official spec)", content_type = "application/scim+json"),
        (status = 400, description = "An invalid path (`invalidPath`) or value (`invalidValue`)"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such provisioned user"),
    )
)]
pub async fn patch_user(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
    JsonBody(body, _): Body,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(
        app.scim_patch_user(&scim.org, &scim.base, &id, &body).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/v2/scim/2.0/Users/{id}",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimDeleteUser",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deprovisioned: the user left the organization (extension)"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such provisioned user"),
    )
)]
pub async fn delete_user(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    app.scim_delete_user(&scim.org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A search by `POST …/.search` (RFC 7644 §3.4.3): the query parameters of a list, in the
/// body. `attributes` may be a list or one comma-separated string.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub schemas: Option<Vec<String>>,
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub attributes: Option<Value>,
    #[schema(value_type = Option<Vec<String>>)]
    pub excluded_attributes: Option<Value>,
}

impl SearchRequest {
    /// The list parameters this search asks for.
    fn into_params(self) -> crate::domain::Result<ListParams> {
        const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
        let names_search = self
            .schemas
            .as_ref()
            .is_some_and(|s| s.iter().any(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST)));
        if !names_search {
            return Err(Error::scim(
                crate::domain::ScimErrorKind::InvalidSyntax,
                format!("schemas: must name {SEARCH_REQUEST}"),
            ));
        }
        let names = |value: Option<Value>, field: &str| -> crate::domain::Result<Option<String>> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text)),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(|names| Some(names.join(",")))
                    .ok_or_else(|| {
                        Error::scim(
                            crate::domain::ScimErrorKind::InvalidValue,
                            format!("{field}: a list of attribute names"),
                        )
                    }),
                Some(_) => Err(Error::scim(
                    crate::domain::ScimErrorKind::InvalidValue,
                    format!("{field}: a list of attribute names"),
                )),
            }
        };
        Ok(ListParams {
            filter: self.filter,
            start_index: self.start_index.map(|n| n.to_string()),
            count: self.count.map(|n| n.to_string()),
            sort_by: self.sort_by,
            sort_order: self.sort_order,
            attributes: names(self.attributes, "attributes")?,
            excluded_attributes: names(self.excluded_attributes, "excludedAttributes")?,
        })
    }
}

/// The search body, in SCIM's error format when malformed.
type SearchBody = JsonBody<SearchRequest, Scim>;

#[utoipa::path(
    post,
    path = "/v2/scim/2.0/Users/.search",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimSearchUsers",
    security(("scimToken" = [])),
    request_body(content = SearchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A page of provisioned users", content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter (`invalidFilter`) or request"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn search_users(
    State(app): State<App>,
    scim: ScimOrg,
    JsonBody(search, _): SearchBody,
) -> ScimResult<ScimJson> {
    let params = search.into_params()?;
    Ok(ScimJson::ok(
        app.scim_list_users(&scim.org, &scim.base, &params).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v2/scim/2.0/Groups/.search",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimSearchGroups",
    security(("scimToken" = [])),
    request_body(content = SearchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "A page of groups", content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter (`invalidFilter`) or request"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn search_groups(
    State(app): State<App>,
    scim: ScimOrg,
    JsonBody(search, _): SearchBody,
) -> ScimResult<ScimJson> {
    let params = search.into_params()?;
    Ok(ScimJson::ok(
        app.scim_list_groups(&scim.org, &scim.base, &params).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v2/scim/2.0/.search",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimSearchAll",
    security(("scimToken" = [])),
    request_body(content = SearchRequest, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "Users, then groups, that match", content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter (`invalidFilter`) or request"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn search_all(
    State(app): State<App>,
    scim: ScimOrg,
    JsonBody(search, _): SearchBody,
) -> ScimResult<ScimJson> {
    let params = search.into_params()?;
    Ok(ScimJson::ok(
        app.scim_search_all(&scim.org, &scim.base, &params).await?,
    ))
}

// ---- Groups -----------------------------------------------------------------------------

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/Groups",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimListGroups",
    security(("scimToken" = [])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of groups: the organization's teams (extension)", content_type = "application/scim+json"),
        (status = 400, description = "A malformed filter (`invalidFilter`) or parameter"),
        (status = 401, description = "No valid SCIM token"),
    )
)]
pub async fn list_groups(
    State(app): State<App>,
    scim: ScimOrg,
    ScimQuery(params): ScimQuery<ListParams>,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(
        app.scim_list_groups(&scim.org, &scim.base, &params).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/v2/scim/2.0/Groups",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimCreateGroup",
    security(("scimToken" = [])),
    request_body(content = Object, content_type = "application/scim+json"),
    responses(
        (status = 201, description = "The team was created (extension)", content_type = "application/scim+json"),
        (status = 400, description = "Invalid attributes"),
        (status = 401, description = "No valid SCIM token"),
        (status = 409, description = "The team exists (`uniqueness`)"),
    )
)]
pub async fn create_group(
    State(app): State<App>,
    scim: ScimOrg,
    JsonBody(body, _): Body,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::created(
        app.scim_create_group(&scim.org, &scim.base, &body).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/v2/scim/2.0/Groups/{id}",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimGetGroup",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The team's id"), ProjectionParams),
    responses(
        (status = 200, description = "The group (extension)", content_type = "application/scim+json"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such group"),
    )
)]
pub async fn get_group(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
    ScimQuery(params): ScimQuery<ProjectionParams>,
) -> ScimResult<ScimJson> {
    let projection = params.projection(Resource::Group)?;
    Ok(ScimJson::ok(
        app.scim_get_group(&scim.org, &scim.base, &id, &projection)
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/v2/scim/2.0/Groups/{id}",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimReplaceGroup",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The team's id")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "Replaced (extension)", content_type = "application/scim+json"),
        (status = 400, description = "Invalid attributes"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such group"),
    )
)]
pub async fn replace_group(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
    JsonBody(body, _): Body,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(
        app.scim_replace_group(&scim.org, &scim.base, &id, &body).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/v2/scim/2.0/Groups/{id}",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimPatchGroup",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The team's id")),
    request_body(content = Object, content_type = "application/scim+json"),
    responses(
        (status = 200, description = "Changed (extension)", content_type = "application/scim+json"),
        (status = 400, description = "An invalid path (`invalidPath`) or value (`invalidValue`)"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such group"),
    )
)]
pub async fn patch_group(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
    JsonBody(body, _): Body,
) -> ScimResult<ScimJson> {
    Ok(ScimJson::ok(
        app.scim_patch_group(&scim.org, &scim.base, &id, &body).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/v2/scim/2.0/Groups/{id}",
    tags = ["scim", "wharf-extensions"],
    operation_id = "ScimDeleteGroup",
    security(("scimToken" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses(
        (status = 204, description = "The team was deleted (extension)"),
        (status = 401, description = "No valid SCIM token"),
        (status = 404, description = "No such group"),
    )
)]
pub async fn delete_group(
    State(app): State<App>,
    scim: ScimOrg,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    app.scim_delete_group(&scim.org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every SCIM route, with its OpenAPI description.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<App> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(service_provider_config))
        .routes(routes!(resource_types))
        .routes(routes!(resource_type))
        .routes(routes!(schemas))
        .routes(routes!(schema_by_id))
        .routes(routes!(search_all))
        .routes(routes!(search_users))
        .routes(routes!(search_groups))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, replace_user, patch_user, delete_user))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, replace_group, patch_group, delete_group))
}
