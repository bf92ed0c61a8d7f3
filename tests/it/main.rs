//! Integration tests: the real `wharf` binary, over HTTP, on SQLite and PostgreSQL.
//! One test binary keeps link times down; each module is one API group or concern.

mod harness;

mod access_tokens;
mod admin;
mod auth_token;
mod conventions;
mod lifecycle;
mod login;
mod spec_contract;
mod store;
