//! Organizations: creation and profile (extensions), the caller's organizations
//! (extension), and the `org-settings` group.
//!
//! The official spec names the organization path parameter `{name}` on the settings and
//! access-token collection routes and `{org_name}` elsewhere. One router cannot hold both
//! names at the same position, so every route here says `{org_name}`; clients cannot tell.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::policy::OrgAction;
use crate::http::auth::{Caller, MaybeCaller};
use crate::http::error::HubResult;
use crate::http::extract::{JsonBody, PublicBase};
use crate::http::openapi::{ErrorBody, ReadErrors, WriteErrors};
use crate::http::pagination::{Page, PageRequest};
use crate::store::{OrgRow, OrgSettingsRow};
use crate::timefmt::format_micros;

/// An organization as Docker's clients read it (`hub-tool`, the Terraform provider).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgInfo {
    pub id: String,
    pub orgname: String,
    pub full_name: String,
    pub company: String,
    pub location: String,
    /// Always `Org`.
    #[serde(rename = "type")]
    pub kind: String,
    pub date_joined: String,
    pub gravatar_email: String,
    pub gravatar_url: String,
    pub profile_url: String,
}

impl OrgInfo {
    pub fn from_row(org: OrgRow, base: &str) -> OrgInfo {
        OrgInfo {
            id: org.id.replace('-', ""),
            profile_url: format!("{base}/u/{}", org.name),
            orgname: org.name,
            full_name: org.full_name,
            company: org.company,
            location: org.location,
            kind: "Org".into(),
            date_joined: format_micros(org.created_at),
            gravatar_email: String::new(),
            gravatar_url: String::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateOrgRequest {
    /// The organization's name: 4 to 30 lowercase letters and digits, unique among users
    /// and organizations.
    pub orgname: String,
}

/// `restricted_images` (Image Access Management). Stored and returned; Wharf has no
/// official or verified-publisher images to restrict, so it enforces nothing with it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct RestrictedImages {
    pub enabled: bool,
    pub allow_official_images: bool,
    pub allow_verified_publishers: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrgSettings {
    pub restricted_images: RestrictedImages,
}

impl From<OrgSettingsRow> for OrgSettings {
    fn from(row: OrgSettingsRow) -> OrgSettings {
        OrgSettings {
            restricted_images: RestrictedImages {
                enabled: row.restrict_images,
                allow_official_images: row.allow_official_images,
                allow_verified_publishers: row.allow_verified_publishers,
            },
        }
    }
}

/// Create an organization (extension); the caller becomes its owner.
#[utoipa::path(
    post,
    path = "/v2/orgs",
    tag = "wharf-extensions",
    operation_id = "CreateOrganization",
    request_body = CreateOrgRequest,
    responses(
        (status = 201, description = "Created", body = OrgInfo),
        (status = 400, description = "Invalid or reserved name", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "Organization creation is reserved to the administrator, or the token may not", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub async fn create(
    State(app): State<App>,
    Caller(principal): Caller,
    PublicBase(base): PublicBase,
    JsonBody(body, ..): JsonBody<CreateOrgRequest>,
) -> HubResult<(StatusCode, Json<OrgInfo>)> {
    let org = app.create_org_as(&principal, &body.orgname).await?;
    Ok((StatusCode::CREATED, Json(OrgInfo::from_row(org, &base))))
}

/// An organization's public profile (extension).
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}",
    tag = "wharf-extensions",
    operation_id = "GetOrganization",
    security((), ("bearerAuth" = [])),
    params(("org_name" = String, Path, description = "Name of the organization")),
    responses(
        (status = 200, description = "The organization", body = OrgInfo),
        (status = 401, description = "An Authorization header that does not authenticate", body = ErrorBody),
        (status = 404, description = "No such organization", body = ErrorBody),
    )
)]
pub async fn get(
    State(app): State<App>,
    MaybeCaller(principal): MaybeCaller,
    PublicBase(base): PublicBase,
    Path(org_name): Path<String>,
) -> HubResult<Json<OrgInfo>> {
    let ctx = app
        .org_for(principal.as_ref(), &org_name, OrgAction::ReadProfile)
        .await?;
    Ok(Json(OrgInfo::from_row(ctx.org, &base)))
}

/// The organizations the caller belongs to (extension).
#[utoipa::path(
    get,
    path = "/v2/user/orgs",
    tag = "wharf-extensions",
    operation_id = "ListCurrentUserOrganizations",
    params(
        ("page" = Option<u64>, Query, description = "Page number, from 1"),
        ("page_size" = Option<u64>, Query, description = "Results per page, 1 to 100 (default 10)"),
    ),
    responses(
        (status = 200, description = "OK", body = Page<OrgInfo>),
        (status = 400, description = "Bad Request", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 403, description = "An organization access token", body = ErrorBody),
        (status = 404, description = "A page past the last", body = ErrorBody),
    )
)]
pub async fn mine(
    State(app): State<App>,
    Caller(principal): Caller,
    PublicBase(base): PublicBase,
    page: PageRequest,
) -> HubResult<Json<Page<OrgInfo>>> {
    let (rows, total) = app.my_orgs(&principal, page.offset(), page.limit()).await?;
    let results = rows
        .into_iter()
        .map(|org| OrgInfo::from_row(org, &base))
        .collect();
    Ok(Json(page.respond(total as u64, results)?))
}

/// Get organization settings.
#[utoipa::path(
    get,
    path = "/v2/orgs/{org_name}/settings",
    tag = "org-settings",
    operation_id = "getV2OrgsByNameSettings",
    params(("org_name" = String, Path, description = "Name of the organization (the spec calls it `name`)")),
    responses(
        (status = 200, description = "OK", body = OrgSettings),
        ReadErrors,
    )
)]
pub async fn get_settings(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
) -> HubResult<Json<OrgSettings>> {
    Ok(Json(app.org_settings(&principal, &org_name).await?.into()))
}

/// Update organization settings (owners only).
#[utoipa::path(
    put,
    path = "/v2/orgs/{org_name}/settings",
    tag = "org-settings",
    operation_id = "putV2OrgsByNameSettings",
    params(("org_name" = String, Path, description = "Name of the organization (the spec calls it `name`)")),
    request_body = OrgSettings,
    responses(
        (status = 200, description = "OK", body = OrgSettings),
        WriteErrors,
    )
)]
pub async fn put_settings(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
    JsonBody(body, ..): JsonBody<OrgSettings>,
) -> HubResult<Json<OrgSettings>> {
    let wanted = OrgSettingsRow {
        restrict_images: body.restricted_images.enabled,
        allow_official_images: body.restricted_images.allow_official_images,
        allow_verified_publishers: body.restricted_images.allow_verified_publishers,
    };
    Ok(Json(
        app.update_org_settings(&principal, &org_name, wanted)
            .await?
            .into(),
    ))
}

/// A new SCIM token.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimTokenResponse {
    /// The bearer token for `/v2/scim/2.0`; shown only here.
    pub token: String,
}

/// Create the organization's SCIM token, replacing the previous one (owners, password
/// session only). The identity provider sends it to `/v2/scim/2.0`.
#[utoipa::path(
    post,
    path = "/v2/orgs/{org_name}/scim-token",
    tag = "wharf-extensions",
    operation_id = "CreateScimToken",
    params(("org_name" = String, Path, description = "Name of the organization")),
    responses(
        (status = 201, description = "The new token; the old one no longer works", body = ScimTokenResponse),
        WriteErrors,
    )
)]
pub async fn scim_token(
    State(app): State<App>,
    Caller(principal): Caller,
    Path(org_name): Path<String>,
) -> HubResult<(StatusCode, Json<ScimTokenResponse>)> {
    let token = app.mint_scim_token(&principal, &org_name).await?;
    Ok((StatusCode::CREATED, Json(ScimTokenResponse { token })))
}
