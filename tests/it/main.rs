//! Integration tests: the real `wharf` binary, over HTTP, on SQLite and PostgreSQL.
//! One test binary keeps link times down; each module is one API group or concern.

mod harness;
mod oci;
mod spec_schema;

mod access_tokens;
mod admin;
mod audit_completeness;
mod auditlogs;
mod auth_token;
mod conventions;
mod crash;
mod faults;
mod fsck;
mod gc;
mod instances;
mod invites;
mod lifecycle;
mod load;
mod login;
mod members;
mod operations;
mod oras;
mod org_access_tokens;
mod org_permissions;
mod orgs;
mod proxies;
mod registry;
mod repo_permissions;
mod repositories;
mod s3;
mod schemathesis;
mod scim;
mod scim_compliance;
mod security;
mod skopeo;
mod spec_contract;
mod store;
mod teams;
mod tls;
