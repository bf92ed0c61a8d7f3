//! The domain: what Wharf does, independent of HTTP. Operations are methods on
//! [`crate::app::App`], grouped by subject; every permission question goes to [`policy`],
//! every state change records its event through [`audit`].

pub mod access_tokens;
pub mod accounts;
pub mod audit;
pub mod audit_log;
pub mod auth;
pub mod error;
pub mod fsck;
pub mod gc;
pub mod images;
pub mod invites;
pub mod manifests;
pub mod org_tokens;
pub mod orgs;
pub mod policy;
pub mod pulls;
pub mod registry;
pub mod repo_teams;
pub mod repositories;
pub mod scim;
pub mod secrets;
pub mod session;
pub mod tags;
pub mod teams;
pub mod totp;

pub use error::{Error, RegistryCode, Result, ScimErrorKind};
