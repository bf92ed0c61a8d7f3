//! Integration tests: the real `wharf` binary, over HTTP, on SQLite and PostgreSQL.
//! One test binary keeps link times down; each module is one API group or concern.

mod harness;

mod admin;
mod auth_token;
mod login;
mod store;
