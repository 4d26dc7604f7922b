//! What the API needs from its host: a key-value store, outbound fetches,
//! the clock, randomness and the public base URL.
//!
//! Everything with a side effect comes through [`Env`], so the API is a pure
//! function of (environment, request) and runs unchanged natively (tests, the
//! host's `mockup keys create`) and in the Spin component.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// A store failure (the host's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Key-value storage (wasi:keyvalue store + atomics semantics). Values are bytes.
pub trait Store {
    /// The value of `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes `value` at `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes `key` (absent keys are not an error).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Atomic compare-and-swap: writes `new` only if the current value equals `expected`
    /// (`None` = key absent). Returns Ok(true) if written. This is how every claim,
    /// index update and credit change is made race-free across hosts.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError>;
    /// Atomic add to an i64 counter stored as its decimal text; creates it at 0. Returns the new value.
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
}

/// The host environment of one request.
pub trait Env {
    /// The key-value store.
    fn store(&self) -> &dyn Store;
    /// Fetch a URL (PSD templates, artwork). The host applies the outbound policy (private
    /// addresses refused, timeouts, size caps); its refusal or failure comes back as Err(text).
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String>;
    /// POSTs a webhook delivery and returns the receiver's status code
    /// (redirects are not followed: a 3xx is the receiver's answer). The
    /// host applies the same outbound policy and timeouts as [`Env::fetch`];
    /// a refusal, timeout or connection failure comes back as Err(text).
    /// Hosts that never deliver webhooks (offline tools) keep this default.
    fn post(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String> {
        let _ = (url, headers, body);
        Err("this host does not send webhooks".into())
    }
    /// Unix milliseconds.
    fn now_ms(&self) -> u64;
    /// Fills `buf` with CSPRNG bytes (ids, secrets).
    fn random(&self, buf: &mut [u8]);
    /// The externally visible base URL, e.g. "http://127.0.0.1:3000" (for status_url,
    /// export_path, thumbnail_url). From the request's Host header if the host sets none.
    fn base_url(&self) -> String;
}

/// An in-memory [`Store`] for tests (this crate's and the host's).
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys (tests check that deletes leave nothing behind).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All keys starting with `prefix`, sorted (for tests only: the API
    /// itself never lists keys, because the real store cannot).
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut k: Vec<String> = self
            .lock()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        k.sort();
        k
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        // A panic while holding the lock leaves a consistent map (every
        // operation is a single insert or remove), so poisoning is ignored.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.lock().insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let mut map = self.lock();
        if map.get(key).map(Vec::as_slice) != expected {
            return Ok(false);
        }
        map.insert(key.to_string(), new.to_vec());
        Ok(true)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let mut map = self.lock();
        let current = match map.get(key) {
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| StoreError(format!("{key} is not a counter")))?,
            None => 0,
        };
        let new = current.saturating_add(delta);
        map.insert(key.to_string(), new.to_string().into_bytes());
        Ok(new)
    }
}

/// How many times a read-modify-CAS loop retries before giving up. Conflicts
/// only happen under contention on one key; a few dozen rounds is plenty.
const CAS_ROUNDS: usize = 64;

/// Reads a JSON value (`None` when absent or not the expected shape).
pub(crate) fn get_json<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, StoreError> {
    Ok(store
        .get(key)?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Writes a JSON value.
pub(crate) fn set_json<T: Serialize>(
    store: &dyn Store,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    store.set(key, &to_bytes(value))
}

/// Serialises a value that cannot fail to serialise (plain data types).
pub(crate) fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Read-modify-CAS on a JSON value: `f` gets the current value (or the
/// default when absent) and returns the new one, or `None` to leave the key
/// as it is. Retries on conflict. Returns whether a write happened.
pub(crate) fn update_json<T, F>(store: &dyn Store, key: &str, mut f: F) -> Result<bool, StoreError>
where
    T: DeserializeOwned + Serialize + Default,
    F: FnMut(T) -> Option<T>,
{
    for _ in 0..CAS_ROUNDS {
        let raw = store.get(key)?;
        let current: T = raw
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        let Some(new) = f(current) else {
            return Ok(false);
        };
        if store.compare_and_swap(key, raw.as_deref(), &to_bytes(&new))? {
            return Ok(true);
        }
    }
    Err(StoreError(format!("too much contention on {key}")))
}
