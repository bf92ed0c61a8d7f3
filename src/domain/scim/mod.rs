//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): identity providers (Okta, Entra ID, …) create,
//! update and deactivate an organization's users and groups through `/v2/scim/2.0/…`.
//!
//! - [`filter`]: the `filter` query parameter (RFC 7644 §3.4.2.2) and PATCH operation paths
//!   (§3.5.2), parsed into an AST; pure code, no I/O. Its grammar is in `FILTER.md` beside it.
//! - [`schema`]: the resource types, their attributes and the discovery documents.
//! - [`resource`]: users and groups as JSON, both ways.
//! - [`query`]: list requests: the filter as a store predicate, sorting, paging, projection.
//! - [`patch`]: PATCH operations applied to a resource document.
//! - [`provisioning`]: the operations, each one transaction with its audit events.

pub mod filter;
pub mod patch;
pub mod provisioning;
pub mod query;
pub mod resource;
pub mod schema;
