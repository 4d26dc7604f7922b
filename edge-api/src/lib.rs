//! The SudoMock-compatible HTTP API as a plain library.
//!
//! [`handle`] turns one [`Request`] into one [`Response`]. Everything with a
//! side effect (storage, outbound fetches, the clock, randomness, the public
//! base URL) comes from the host through [`Env`], so the same code runs in
//! the Spin component (wasm32-wasip2), natively in the host's tools
//! ([`create_api_key`]) and in tests over [`MemoryStore`].
//!
//! The store is a plain key-value store with compare-and-swap and atomic
//! counters, and no key listing: every index (an account's mockups and
//! jobs, the job queue) is a key this crate maintains with CAS. The key
//! layout is documented in each module: [`accounts`], [`mockups`],
//! [`jobs`], [`files`], [`webhooks`].
//!
//! Routes: see [`router`].

#![warn(missing_docs)]

pub mod accounts;
pub mod env;
pub mod errors;
pub mod files;
pub mod http;
mod idempotency;
pub mod jobs;
pub mod mockups;
pub mod renders;
pub mod router;
mod util;
pub mod webhooks;

/// The component's entry point and environment (wasm32-wasip2 only).
#[cfg(target_arch = "wasm32")]
mod spin;

pub use accounts::{add_credits, create_api_key, create_api_key_with, KeyOptions};
pub use env::{Env, MemoryStore, Store, StoreError};
pub use errors::ApiError;
pub use http::{Request, Response};

/// Answers one request. Never panics on bad input: every failure is one of
/// the spec's error responses.
pub fn handle(env: &dyn Env, mut req: Request) -> Response {
    // Hosts should split the query off, but a path that still carries one
    // is handled the same way.
    if let Some((path, query)) = req.path.split_once('?') {
        let mut pairs = http::parse_query(query);
        pairs.append(&mut req.query);
        req.query = pairs;
        req.path = path.to_string();
    }
    router::dispatch(env, &req).unwrap_or_else(|e| e.to_response())
}
