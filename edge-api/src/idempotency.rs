//! `Idempotency-Key` on submits: the same key from the same account gets
//! the stored original response and the work (and its charge) happens once.
//!
//! `idem:{account}:{sha256 of the key}` holds either a pending marker,
//! claimed with CAS from absent before the work starts (so two concurrent
//! requests cannot both run it: the second gets 409), or the finished
//! response. Only deterministic answers are stored (2xx and 4xx other than
//! 402/409/429); after a 5xx, 502, 402 or 429 the key is released so a retry
//! runs again. Finished keys are forgotten after [`RETENTION_MS`].

use crate::accounts::Caller;
use crate::env::{to_bytes, Env};
use crate::errors::ApiError;
use crate::http::{Request, Response};
use crate::util::sha256_hex;
use serde::{Deserialize, Serialize};

/// After this long a pending marker is taken to belong to a crashed request.
pub const PENDING_TIMEOUT_MS: u64 = 10 * 60 * 1000;
/// How long a finished key is remembered (as Stripe does): after that the
/// sweep deletes it and the key may be used afresh.
pub const RETENTION_MS: u64 = 24 * 3600 * 1000;
/// Longest accepted key.
pub const MAX_KEY_CHARS: usize = 255;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// Hash of method, path, query and body: a key reused for a different
    /// request is refused rather than answered with the wrong response.
    request: String,
    /// `None` while the first request is still running.
    response: Option<Stored>,
    created_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    status: u16,
    content_type: String,
    body: String,
}

fn request_hash(req: &Request) -> String {
    let mut h = Vec::new();
    h.extend_from_slice(req.method.as_bytes());
    h.push(0);
    h.extend_from_slice(req.path.as_bytes());
    for (k, v) in &req.query {
        h.push(0);
        h.extend_from_slice(k.as_bytes());
        h.push(b'=');
        h.extend_from_slice(v.as_bytes());
    }
    h.push(0);
    h.extend_from_slice(&req.body);
    sha256_hex(&h)
}

fn storable(status: u16) -> bool {
    (200..300).contains(&status)
        || (400..500).contains(&status) && !matches!(status, 402 | 409 | 429)
}

/// Runs `work` at most once per `Idempotency-Key` of the caller.
pub fn run(
    env: &dyn Env,
    caller: &Caller,
    req: &Request,
    work: impl FnOnce() -> Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let Some(key) = req.header_value("idempotency-key") else {
        return work();
    };
    let field = "header -> Idempotency-Key";
    let n = key.chars().count();
    if n == 0 || n > MAX_KEY_CHARS {
        return Err(ApiError::field(
            field,
            "Idempotency-Key must be 1 to 255 characters",
        ));
    }
    let store = env.store();
    let skey = format!("idem:{}:{}", caller.account_id, sha256_hex(key.as_bytes()));
    let hash = request_hash(req);
    let pending = Record {
        request: hash.clone(),
        response: None,
        created_at: env.now_ms(),
    };
    let pending_bytes = to_bytes(&pending);
    let mut claimed = false;
    for _ in 0..16 {
        let raw = store.get(&skey)?;
        let existing: Option<Record> = raw.as_deref().and_then(|b| serde_json::from_slice(b).ok());
        match existing {
            None => {}
            Some(r) if r.request != hash => {
                return Err(ApiError::field(
                    field,
                    "This Idempotency-Key was already used for a different request",
                ))
            }
            Some(Record {
                response: Some(s), ..
            }) => {
                return Ok(Response {
                    status: s.status,
                    headers: vec![
                        ("content-type".into(), s.content_type),
                        ("idempotent-replayed".into(), "true".into()),
                    ],
                    body: s.body.into_bytes(),
                });
            }
            Some(r) if env.now_ms().saturating_sub(r.created_at) < PENDING_TIMEOUT_MS => {
                return Err(ApiError::Conflict(
                    "A request with this Idempotency-Key is still in progress".into(),
                ));
            }
            Some(_) => {}
        }
        if store.compare_and_swap(&skey, raw.as_deref(), &pending_bytes)? {
            claimed = true;
            break;
        }
    }
    if !claimed {
        return Err(ApiError::Conflict(
            "A request with this Idempotency-Key is still in progress".into(),
        ));
    }
    let resp = work().unwrap_or_else(|e| e.to_response());
    if storable(resp.status) {
        let done = Record {
            response: Some(Stored {
                status: resp.status,
                content_type: resp
                    .header_value("content-type")
                    .unwrap_or("application/json")
                    .to_string(),
                body: String::from_utf8_lossy(&resp.body).into_owned(),
            }),
            ..pending
        };
        if store.compare_and_swap(&skey, Some(&pending_bytes), &to_bytes(&done))? {
            crate::files::expire_key(env, &skey, env.now_ms().saturating_add(RETENTION_MS))?;
        }
    } else {
        // Released by overwriting our own marker with a value that reads as
        // "absent"; a plain delete could remove a marker another request
        // placed after ours timed out.
        store.compare_and_swap(&skey, Some(&pending_bytes), b"{}")?;
    }
    Ok(resp)
}
