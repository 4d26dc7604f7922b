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
    // CORS: the API is called with a key in a header, never with cookies,
    // so any origin may call it (the web demo from a static server, a
    // customer's own page). Preflights are answered here for every path.
    if req.method.eq_ignore_ascii_case("OPTIONS") {
        return with_cors(Response::bytes(204, "text/plain", Vec::new()))
            .with_header(
                "access-control-allow-methods",
                "GET, HEAD, POST, PATCH, DELETE",
            )
            .with_header(
                "access-control-allow-headers",
                "x-api-key, authorization, content-type, idempotency-key",
            )
            .with_header("access-control-max-age", "86400");
    }
    with_cors(router::dispatch(env, &req).unwrap_or_else(|e| e.to_response()))
}

/// Lets any origin read the response and the headers clients use.
pub(crate) fn with_cors(r: Response) -> Response {
    r.with_header("access-control-allow-origin", "*")
        .with_header(
            "access-control-expose-headers",
            "server-timing, retry-after",
        )
}
