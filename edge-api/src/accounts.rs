//! Accounts, API keys, credits, rate limits and authentication.
//!
//! Keys in the store:
//!
//! * `account:{id}` -> [`Account`]
//! * `apikey:{sha256 hex of the secret}` -> [`KeyRecord`]: keys are stored
//!   only hashed, so a leaked store does not leak usable keys. The secret is
//!   the part after the prefix, so `sm_X` and `sk-X` name the same account.
//! * `keyreq:{hash}`: requests made with a key (counter)
//! * `credits:{id}`: the balance (counter)
//! * `used:{id}:{yyyy-mm}`: credits spent in a month (counter)
//! * `rate:{key hash}:{minute}`: one key's requests in a one-minute window (counter)

use crate::env::{get_json, set_json, Env};
use crate::errors::ApiError;
use crate::http::{envelope, Request, Response};
use crate::util::{iso8601, month, random_base62, sha256_hex, uuid_v4};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Prefix of the keys this API issues.
pub const KEY_PREFIX: &str = "sm_";
/// The RenderingVideo-style prefix accepted for the same secret.
pub const ALT_KEY_PREFIX: &str = "sk-";
/// Length of the random secret after the prefix.
pub const SECRET_LEN: usize = 40;
/// Requests one key may make per minute unless its record says otherwise.
pub const RATE_LIMIT_PER_MINUTE: i64 = 600;
/// Synchronous renders one key may have running at once.
pub const SYNC_RENDERS_PER_KEY: usize = 8;
/// How long a claimed render slot stays taken if its holder dies without
/// releasing it (a crashed host): longer than any render.
pub const RENDER_SLOT_LEASE_MS: u64 = 10 * 60 * 1000;

/// Credits one render costs.
pub const RENDER_COST: i64 = 1;

/// An account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// UUID.
    pub id: String,
    /// Display name (the name of the key that created it).
    pub name: String,
    /// Contact address, empty when unknown.
    #[serde(default)]
    pub email: String,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Credits granted at creation (reported as the period's limit).
    pub credits_limit: i64,
}

/// What `apikey:{hash}` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The account the key belongs to.
    pub account_id: String,
    /// The key's name.
    pub name: String,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Requests per minute this key may make (default
    /// [`RATE_LIMIT_PER_MINUTE`]); set by `mockup keys create --rate-limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_minute: Option<i64>,
}

/// Settings of a new key beyond its name and credits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// Requests per minute (`None`: [`RATE_LIMIT_PER_MINUTE`]).
    pub rate_limit_per_minute: Option<i64>,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The account.
    pub account_id: String,
    /// Hash of the key used (for per-key statistics).
    pub key_hash: String,
    /// The key's record.
    pub key: KeyRecord,
}

/// Creates an account with `credits` credits and an API key for it, and
/// returns the plaintext key (`sm_` + 40 base62 characters). This is the only
/// time the key exists in clear: only its hash is stored.
pub fn create_api_key(env: &dyn Env, name: &str, credits: i64) -> Result<String, ApiError> {
    create_api_key_with(env, name, credits, &KeyOptions::default())
}

/// [`create_api_key`] with per-key settings.
pub fn create_api_key_with(
    env: &dyn Env,
    name: &str,
    credits: i64,
    options: &KeyOptions,
) -> Result<String, ApiError> {
    let store = env.store();
    let now = env.now_ms();
    let account = Account {
        id: uuid_v4(env),
        name: name.to_string(),
        email: String::new(),
        created_at: now,
        credits_limit: credits,
    };
    set_json(store, &format!("account:{}", account.id), &account)?;
    store.increment(&format!("credits:{}", account.id), credits)?;
    let secret = random_base62(env, SECRET_LEN);
    let record = KeyRecord {
        account_id: account.id.clone(),
        name: name.to_string(),
        created_at: now,
        rate_limit_per_minute: options.rate_limit_per_minute.filter(|&n| n > 0),
    };
    // CAS from absent: a (astronomically unlikely) collision must not hand
    // another account's key record over.
    let key = format!("apikey:{}", sha256_hex(secret.as_bytes()));
    if !store.compare_and_swap(&key, None, &crate::env::to_bytes(&record))? {
        return Err(ApiError::Internal("KEY_COLLISION".into()));
    }
    Ok(format!("{KEY_PREFIX}{secret}"))
}

/// Adds (or with a negative `delta`, removes) credits. Returns the new balance.
pub fn add_credits(env: &dyn Env, account_id: &str, delta: i64) -> Result<i64, ApiError> {
    Ok(env
        .store()
        .increment(&format!("credits:{account_id}"), delta)?)
}

/// The API key of a request: `x-api-key`, else `Authorization: Bearer`.
fn presented_key(req: &Request) -> Option<&str> {
    if let Some(k) = req.header_value("x-api-key") {
        let k = k.trim();
        if !k.is_empty() {
            return Some(k);
        }
    }
    let auth = req.header_value("authorization")?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Authenticates a request, with the spec's three 401 messages.
pub fn authenticate(env: &dyn Env, req: &Request) -> Result<Caller, ApiError> {
    let key =
        presented_key(req).ok_or_else(|| ApiError::Unauthorized("Not authenticated".into()))?;
    let secret = key
        .strip_prefix(KEY_PREFIX)
        .or_else(|| key.strip_prefix(ALT_KEY_PREFIX))
        .ok_or_else(|| {
            ApiError::Unauthorized("Invalid API key format. Must start with 'sm_'".into())
        })?;
    let invalid = || ApiError::Unauthorized("Invalid or revoked API key".into());
    if secret.len() != SECRET_LEN || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid());
    }
    let key_hash = sha256_hex(secret.as_bytes());
    let record: KeyRecord =
        get_json(env.store(), &format!("apikey:{key_hash}"))?.ok_or_else(invalid)?;
    env.store().increment(&format!("keyreq:{key_hash}"), 1)?;
    Ok(Caller {
        account_id: record.account_id.clone(),
        key_hash,
        key: record,
    })
}

/// Counts a request in the calling key's one-minute window; 429 past the
/// key's limit. The previous window's counter is deleted when a new window
/// opens, so counters do not pile up (the store has no expiry).
pub fn rate_limit(env: &dyn Env, caller: &Caller) -> Result<(), ApiError> {
    let now_s = env.now_ms() / 1000;
    let window = now_s / 60;
    let store = env.store();
    let limit = caller
        .key
        .rate_limit_per_minute
        .unwrap_or(RATE_LIMIT_PER_MINUTE);
    let count = store.increment(&format!("rate:{}:{window}", caller.key_hash), 1)?;
    if count == 1 && window > 0 {
        store.delete(&format!("rate:{}:{}", caller.key_hash, window - 1))?;
    }
    if count > limit {
        return Err(ApiError::RateLimited {
            limit,
            reset_seconds: 60 - now_s % 60,
        });
    }
    Ok(())
}

/// The account's credit balance.
pub fn balance(env: &dyn Env, account_id: &str) -> Result<i64, ApiError> {
    add_credits(env, account_id, 0)
}

/// 402 unless the account can pay for `cost` credits. Checked at submit;
/// the charge itself happens only on success, so two concurrent renders on
/// the last credit may both pass and leave the balance at -1 (the next
/// submit is refused).
pub fn require_credits(env: &dyn Env, account_id: &str, cost: i64) -> Result<(), ApiError> {
    if balance(env, account_id)? < cost {
        let (_, _, end) = month(env.now_ms());
        return Err(ApiError::PaymentRequired {
            credits_reset_at: iso8601(end),
        });
    }
    Ok(())
}

/// Takes `cost` credits and counts them as this month's usage.
pub fn charge(env: &dyn Env, account_id: &str, cost: i64) -> Result<(), ApiError> {
    add_credits(env, account_id, -cost)?;
    let (m, _, _) = month(env.now_ms());
    env.store()
        .increment(&format!("used:{account_id}:{m}"), cost)?;
    Ok(())
}

/// `GET /api/v1/me`: the account, its "subscription", credit usage and the
/// key used.
pub fn me(env: &dyn Env, caller: &Caller) -> Result<Response, ApiError> {
    let store = env.store();
    let account: Account = get_json(store, &format!("account:{}", caller.account_id))?
        .ok_or_else(|| ApiError::Unauthorized("Invalid or revoked API key".into()))?;
    let (m, start, end) = month(env.now_ms());
    let used = store.increment(&format!("used:{}:{m}", account.id), 0)?;
    let remaining = balance(env, &account.id)?;
    let requests = store.increment(&format!("keyreq:{}", caller.key_hash), 0)?;
    let data = json!({
        "account": {
            "uuid": account.id,
            "email": account.email,
            "name": account.name,
            "created_at": iso8601(account.created_at),
        },
        "subscription": {
            "plan": "self-hosted",
            "status": "active",
            "tier": "self-hosted",
            "current_period_end": iso8601(end),
            "cancel_at_period_end": false,
            "billing_channel": "none",
        },
        "usage": {
            "credits_used_this_month": used,
            "credits_limit": account.credits_limit,
            "credits_remaining": remaining,
            "billing_period_start": iso8601(start),
            "billing_period_end": iso8601(end),
        },
        "api_key": {
            "name": caller.key.name,
            "created_at": iso8601(caller.key.created_at),
            "last_used_at": null,
            "total_requests": requests,
        },
    });
    Ok(Response::json(200, &envelope(data)))
}

/// One of a key's [`SYNC_RENDERS_PER_KEY`] render slots, released on drop.
pub struct RenderSlot<'a> {
    env: &'a dyn Env,
    key: String,
}

impl Drop for RenderSlot<'_> {
    fn drop(&mut self) {
        // A failed delete leaves the slot to its lease expiry.
        let _ = self.env.store().delete(&self.key);
    }
}

/// Claims a render slot of the calling key (`busy:{key hash}:{n}` holds the
/// lease's expiry, taken by compare-and-swap, so hosts sharing a store
/// count together); 429 when all are taken by live leases.
pub fn claim_render_slot<'a>(
    env: &'a dyn Env,
    caller: &Caller,
) -> Result<RenderSlot<'a>, ApiError> {
    let store = env.store();
    let now = env.now_ms();
    let lease = (now + RENDER_SLOT_LEASE_MS).to_string();
    for n in 0..SYNC_RENDERS_PER_KEY {
        let key = format!("busy:{}:{n}", caller.key_hash);
        let current = store.get(&key)?;
        let free = match &current {
            None => true,
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .is_none_or(|until| until <= now),
        };
        if free && store.compare_and_swap(&key, current.as_deref(), lease.as_bytes())? {
            return Ok(RenderSlot { env, key });
        }
    }
    Err(ApiError::RateLimited {
        limit: SYNC_RENDERS_PER_KEY as i64,
        reset_seconds: 1,
    })
}
