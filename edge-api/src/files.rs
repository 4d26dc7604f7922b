//! Stored blobs (PSD templates, render results) and the route serving
//! results.
//!
//! A blob is a manifest at `blob:{id}` plus its bytes in chunks of
//! [`CHUNK_SIZE`] at `blob:{id}:{n}`, so that no single store value is huge
//! (key-value stores cap value sizes, and a PSD may be hundreds of MB).
//! Chunks are written before the manifest, so a manifest never names a
//! chunk that is not there yet.
//!
//! A blob with a retention is also listed under `expiry:{day}:{shard}` (the UTC
//! day it expires, as days since 1970; the first hex digit of the id's
//! SHA-256), as are other keys kept for a while only ([`expire_key`]), and [`sweep_expired`] deletes whole
//! past days, so results nobody fetches again do not stay forever in a store
//! that has neither expiry nor key scans. `expiry:swept` holds the first day
//! not yet swept.
//!
//! Result files are served without authentication at `GET /files/{id}`,
//! like a CDN URL: the id is 128 random bits, so it cannot be guessed.
//! Templates are private: they are never served.

use crate::env::{get_json, set_json, update_json, Env};
use crate::errors::ApiError;
use crate::http::Response;
use crate::util::random_hex128;
use serde::{Deserialize, Serialize};

/// Bytes per chunk.
pub const CHUNK_SIZE: usize = 1 << 20;
/// How long render results are kept: 7 days, as the hosted API does.
pub const RESULT_RETENTION_MS: u64 = 7 * 24 * 3600 * 1000;

/// The store key where the operator's result retention (milliseconds, as
/// decimal text) is kept; `mockup serve --retention-days` writes it.
pub const RETENTION_CONFIG_KEY: &str = "config:result-retention-ms";

/// How long result files are kept: the operator's setting, else
/// [`RESULT_RETENTION_MS`].
pub fn result_retention_ms(env: &dyn Env) -> u64 {
    env.store()
        .get(RETENTION_CONFIG_KEY)
        .ok()
        .flatten()
        .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse::<u64>().ok())
        .filter(|&ms| ms > 0)
        .unwrap_or(RESULT_RETENTION_MS)
}

/// What `blob:{id}` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Total size in bytes.
    pub size: u64,
    /// Number of chunks.
    pub chunks: u32,
    /// Media type.
    pub content_type: String,
    /// Owning account.
    pub account_id: String,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds after which the blob is gone; `None` = kept.
    pub expires_at: Option<u64>,
    /// Served at `/files/{id}`.
    pub public: bool,
}

/// Stores `bytes` and returns the new blob's id (32 hex digits).
pub fn put(
    env: &dyn Env,
    account_id: &str,
    bytes: &[u8],
    content_type: &str,
    public: bool,
    retention_ms: Option<u64>,
) -> Result<String, ApiError> {
    let store = env.store();
    let id = random_hex128(env);
    let mut chunks = 0u32;
    for (n, c) in bytes.chunks(CHUNK_SIZE).enumerate() {
        store.set(&format!("blob:{id}:{n}"), c)?;
        chunks += 1;
    }
    let now = env.now_ms();
    let manifest = Manifest {
        size: bytes.len() as u64,
        chunks,
        content_type: content_type.to_string(),
        account_id: account_id.to_string(),
        created_at: now,
        expires_at: retention_ms.map(|r| now.saturating_add(r)),
        public,
    };
    set_json(store, &format!("blob:{id}"), &manifest)?;
    if let Some(e) = manifest.expires_at {
        schedule(env, &id, e)?;
    }
    Ok(id)
}

/// Lists `entry` (a blob id, or `key:` and a store key) for deletion by
/// the sweep once `at` (unix milliseconds) has passed.
fn schedule(env: &dyn Env, entry: &str, at: u64) -> Result<(), ApiError> {
    let shard = crate::util::sha256_hex(entry.as_bytes());
    update_json(
        env.store(),
        &format!("expiry:{}:{}", at / DAY_MS, &shard[..1]),
        |mut entries: Vec<String>| {
            entries.push(entry.to_string());
            Some(entries)
        },
    )?;
    Ok(())
}

/// Has the sweep delete the store key `key` after `at` (unix
/// milliseconds), for records kept for a while only (idempotency keys).
pub fn expire_key(env: &dyn Env, key: &str, at: u64) -> Result<(), ApiError> {
    schedule(env, &format!("key:{key}"), at)
}

const DAY_MS: u64 = 24 * 3600 * 1000;
/// A day's list is split by the first hex digit of the entry's hash, so
/// concurrent renders rarely contend for the same key.
const SHARDS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
];
/// Days one sweep looks back when it has never run.
const FIRST_SWEEP_DAYS: u64 = 8;
/// Most days one sweep handles, so one call stays short.
const DAYS_PER_SWEEP: u64 = 4;

/// Deletes the blobs of every fully past expiry day (up to
/// four days per call). Safe to run concurrently: deletes are
/// idempotent and the progress marker only moves forward.
pub fn sweep_expired(env: &dyn Env) -> Result<(), ApiError> {
    let store = env.store();
    let today = env.now_ms() / DAY_MS;
    let from: u64 =
        get_json(store, "expiry:swept")?.unwrap_or_else(|| today.saturating_sub(FIRST_SWEEP_DAYS));
    let to = today.min(from + DAYS_PER_SWEEP);
    if from >= to {
        return Ok(());
    }
    for day in from..to {
        // Every blob listed under a past day has expired: expires_at <
        // (day + 1) * DAY_MS <= today * DAY_MS <= now.
        for s in SHARDS {
            let key = format!("expiry:{day}:{s}");
            let entries: Vec<String> = get_json(store, &key)?.unwrap_or_default();
            for entry in entries {
                match entry.strip_prefix("key:") {
                    Some(k) => store.delete(k)?,
                    None => delete(env, &entry)?,
                }
            }
            store.delete(&key)?;
        }
    }
    update_json(store, "expiry:swept", |done: u64| (to > done).then_some(to))?;
    Ok(())
}

/// The manifest and bytes of a live blob (`None` when absent, expired or
/// incomplete). An expired blob is deleted on the way.
pub fn get(env: &dyn Env, id: &str) -> Result<Option<(Manifest, Vec<u8>)>, ApiError> {
    let store = env.store();
    let Some(m) = get_json::<Manifest>(store, &format!("blob:{id}"))? else {
        return Ok(None);
    };
    if m.expires_at.is_some_and(|e| env.now_ms() >= e) {
        delete(env, id)?;
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(m.size.min(1 << 30) as usize);
    for n in 0..m.chunks {
        match store.get(&format!("blob:{id}:{n}"))? {
            Some(c) => bytes.extend_from_slice(&c),
            None => return Ok(None),
        }
    }
    if bytes.len() as u64 != m.size {
        return Ok(None);
    }
    Ok(Some((m, bytes)))
}

/// Removes a blob: the manifest first, so a half-deleted blob is never
/// served.
pub fn delete(env: &dyn Env, id: &str) -> Result<(), ApiError> {
    let store = env.store();
    let Some(m) = get_json::<Manifest>(store, &format!("blob:{id}"))? else {
        return Ok(());
    };
    store.delete(&format!("blob:{id}"))?;
    for n in 0..m.chunks {
        store.delete(&format!("blob:{id}:{n}"))?;
    }
    Ok(())
}

/// File extension for a result's media type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        _ => "bin",
    }
}

/// The public URL of a result file.
pub fn url(base_url: &str, id: &str, content_type: &str) -> String {
    format!(
        "{}/files/{id}.{}",
        base_url.trim_end_matches('/'),
        extension(content_type)
    )
}

/// `GET /files/{id}[.ext]` (and `HEAD`): a public result file.
pub fn serve(env: &dyn Env, name: &str, head: bool) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("File not found".into());
    let id = name.split_once('.').map_or(name, |(id, _)| id);
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(not_found());
    }
    let (m, bytes) = get(env, id)?.ok_or_else(not_found)?;
    if !m.public {
        return Err(not_found());
    }
    let len = bytes.len().to_string();
    let body = if head { Vec::new() } else { bytes };
    Ok(Response::bytes(200, &m.content_type, body)
        .with_header("content-length", &len)
        .with_header("cache-control", "public, max-age=604800, immutable"))
}
