//! Wharf: a self-hosted, Docker Hub-compatible server. See `README.md` for use and
//! `DESIGN.md` for the architecture; the module layout follows it:
//!
//! - [`http`]: the one listener and its routes, per API surface;
//! - [`domain`]: what Wharf does, the [`domain::policy`] module and the [`domain::audit`] helper;
//! - [`store`]: the metadata store on SQLite or PostgreSQL;
//! - [`blobs`]: blob storage (local filesystem or S3) with streaming digests;
//! - [`config`], [`server`], [`admin`], [`fsck`]: the `wharf` command.

pub mod admin;
pub mod app;
pub mod blobs;
pub mod config;
pub mod domain;
pub mod fsck;
#[doc(hidden)]
pub mod fuzzing;
pub mod gc;
pub mod http;
pub mod ratelimit;
pub mod server;
pub mod store;
pub mod timefmt;
