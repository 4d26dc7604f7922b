//! Webhooks: account endpoints, per-request webhooks, the event outbox and
//! signed, retried, logged and replayable deliveries.
//!
//! One mechanism carries every notification. A job that reaches a terminal
//! state leaves its id in the event outbox *before* its terminal write, so
//! a crash can never store the state without the event. The host's
//! delivery loop calls [`deliver`] (`POST /internal/webhooks/deliver`),
//! which first turns outbox entries of terminal jobs into deliveries (one
//! per subscribed endpoint, plus the job's own `webhook.url`), then claims
//! one due delivery, sends it and records the outcome. The API's request
//! path only ever writes to the store: a slow receiver never slows it.
//!
//! Keys in the store:
//!
//! * `whep:{id}` -> [`Endpoint`]; `whep:list:{account}` -> the account's
//!   endpoint ids.
//! * `whsec:{account}` -> the account's default [`SigningSecret`], which
//!   signs per-request webhooks.
//! * `whdl:{id}` -> [`Delivery`]. Its id is derived from the event id and
//!   the target, so turning an event into deliveries twice creates each
//!   delivery once (a compare-and-swap from absent).
//! * `whlog:{endpoint}` and `whlog:acct:{account}` -> delivery ids, newest
//!   first, at most [`LOG_LEN`]: the endpoint's log and the account's feed.
//! * `queue:events` -> ids of jobs whose terminal event is (or may be) due.
//! * `queue:webhooks` -> [`QueueEntry`]s: deliveries not yet finished, with
//!   when each is due (a claimed delivery is due again when its lease ends,
//!   so a host that dies mid-send loses nothing).
//!
//! Delivery is at least once: receivers de-duplicate on the event id (the
//! body's `id`, also sent as `X-SudoMock-Event-Id`).
//!
//! Signing, as the official SDK's `verify_webhook_signature` checks it:
//! `X-SudoMock-Timestamp` is the unix time of the attempt and
//! `X-SudoMock-Signature` the hex HMAC-SHA256 of `"{timestamp}.{raw_body}"`
//! under the endpoint's secret. For [`ROTATION_OVERLAP_MS`] after a
//! rotation, `X-SudoMock-Signature-Previous` carries the same signature
//! under the previous secret, so receivers can switch over without a gap.

use crate::accounts::Caller;
use crate::env::{get_json, set_json, to_bytes, update_json, Env};
use crate::errors::ApiError;
use crate::http::{Request, Response};
use crate::jobs::{self, JobRecord};
use crate::mockups::{parse_json_body, query_int};
use crate::util::{iso8601, random_base62, sha256_hex, uuid_v4};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

/// The event types an endpoint can subscribe to, with what they mean.
pub const EVENT_TYPES: [(&str, &str); 9] = [
    (
        "render.succeeded",
        "An asynchronous render finished with a result.",
    ),
    ("render.failed", "An asynchronous render failed."),
    ("render.cancelled", "An asynchronous render was cancelled."),
    (
        "upload.succeeded",
        "An asynchronous PSD upload created a mockup.",
    ),
    ("upload.failed", "An asynchronous PSD upload failed."),
    (
        "upload.cancelled",
        "An asynchronous PSD upload was cancelled.",
    ),
    ("video.succeeded", "A video finished with a result."),
    ("video.failed", "A video failed."),
    ("video.cancelled", "A video was cancelled."),
];
/// The event type of `POST .../{uuid}/test`, sent whatever the subscription.
pub const TEST_EVENT: &str = "webhook.test";
/// Endpoints per account.
pub const MAX_ENDPOINTS: usize = 20;
/// Entries kept in an endpoint's delivery log and in the account feed.
pub const LOG_LEN: usize = 200;
/// How long a delivery attempt may hold its delivery before another host
/// may take it over (the host's outbound timeouts are well inside it).
pub const SEND_LEASE_MS: u64 = 90_000;
/// How long the previous secret keeps signing after a rotation, by default.
pub const ROTATION_OVERLAP_MS: u64 = 24 * 3600 * 1000;
/// Longest overlap a rotation may ask for (`?overlap_seconds=`).
pub const MAX_OVERLAP_SECONDS: u64 = 7 * 24 * 3600;
/// The store key of the operator's [`RetryPolicy`].
pub const RETRY_CONFIG_KEY: &str = "config:webhook-retry";

const EVENTS_QUEUE: &str = "queue:events";
const DELIVERY_QUEUE: &str = "queue:webhooks";
const SECRET_PREFIX: &str = "whsec_";

/// How deliveries are retried, and when an endpoint is given up on. The
/// host writes it at start-up (`mockup serve --webhook-retry-base-ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    /// Delay before the second attempt; each later one waits 3x longer.
    pub base_ms: u64,
    /// Longest delay between two attempts.
    pub max_delay_ms: u64,
    /// Attempts before a delivery is `dead`.
    pub max_attempts: u32,
    /// Consecutive failed attempts after which an endpoint is disabled...
    pub disable_after_failures: u32,
    /// ...provided it has been failing (no success) for at least this long.
    pub disable_after_ms: u64,
}

impl Default for RetryPolicy {
    /// 10 s, 30 s, 1.5 min, ... capped at 4 h: twelve attempts over about
    /// a day. An endpoint failing for a day and 50 attempts is disabled.
    fn default() -> Self {
        Self {
            base_ms: 10_000,
            max_delay_ms: 4 * 3600 * 1000,
            max_attempts: 12,
            disable_after_failures: 50,
            disable_after_ms: 24 * 3600 * 1000,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based), with
    /// +-20% jitter from `jitter` (0..1) so retries of many deliveries to
    /// one receiver do not arrive in lockstep.
    pub fn delay_ms(&self, attempt: u32, jitter: f64) -> u64 {
        let exp = attempt.saturating_sub(1).min(30);
        let raw = (self.base_ms as f64) * 3f64.powi(exp as i32);
        let capped = raw.min(self.max_delay_ms as f64);
        (capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as u64
    }
}

fn retry_policy(env: &dyn Env) -> RetryPolicy {
    get_json(env.store(), RETRY_CONFIG_KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A signing secret and, for a while after a rotation, the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    /// `whsec_...`.
    pub secret: String,
    /// The secret before the latest rotation.
    pub previous: Option<String>,
    /// Until when (unix ms) `previous` also signs.
    pub previous_until: Option<u64>,
}

impl SigningSecret {
    fn new(env: &dyn Env) -> Self {
        Self {
            secret: format!("{SECRET_PREFIX}{}", random_base62(env, 32)),
            previous: None,
            previous_until: None,
        }
    }

    fn rotate(&mut self, env: &dyn Env, overlap_ms: u64) {
        let old = std::mem::replace(self, Self::new(env));
        if overlap_ms > 0 {
            self.previous = Some(old.secret);
            self.previous_until = Some(env.now_ms().saturating_add(overlap_ms));
        }
    }

    /// The previous secret, while it still signs.
    fn previous_at(&self, now: u64) -> Option<&str> {
        match (&self.previous, self.previous_until) {
            (Some(p), Some(until)) if now < until => Some(p),
            _ => None,
        }
    }
}

/// `whsec_****` and the last four characters.
fn masked(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{SECRET_PREFIX}****{tail}")
}

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`: the
/// value of `X-SudoMock-Signature`.
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    crate::util::hex(&mac.finalize().into_bytes())
}

/// What `whep:{id}` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// UUID.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Signs its deliveries.
    pub secret: SigningSecret,
    /// The owner's label.
    pub description: Option<String>,
    /// Subscribed event types (empty: all).
    pub event_types: Vec<String>,
    /// `current` or `legacy` spelling of photo-mockup events (kept for the
    /// SDK; this service's events have one spelling).
    pub event_naming: String,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why it was disabled automatically.
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// When the current run of failures began (unix ms).
    pub failing_since: Option<u64>,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms.
    pub updated_at: u64,
}

impl Endpoint {
    fn subscribes(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt.
    Pending,
    /// An attempt is in flight.
    Delivering,
    /// The receiver answered 2xx.
    Succeeded,
    /// The latest attempt failed; another is scheduled.
    Failed,
    /// Given up (attempts exhausted, endpoint disabled or deleted).
    Dead,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivering => "delivering",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn is_final(self) -> bool {
        matches!(self, DeliveryStatus::Succeeded | DeliveryStatus::Dead)
    }
}

/// What `whdl:{id}` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `whd_...`, derived from the event id and the target.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// The endpoint, or `None` for a job's own `webhook.url`.
    pub endpoint_id: Option<String>,
    /// Where it goes (a per-request webhook's URL; endpoints use theirs).
    pub url: String,
    /// The job it reports on.
    pub job_id: Option<String>,
    /// `evt_...`: the same for every delivery of one event.
    pub event_id: String,
    /// E.g. `render.succeeded`.
    pub event_type: String,
    /// The exact JSON body sent (the same bytes on every attempt).
    pub body: String,
    /// State.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempt: u32,
    /// The receiver's status code on the latest attempt.
    pub http_status: Option<u16>,
    /// Why the latest attempt failed.
    pub last_error: Option<String>,
    /// Duration of the latest attempt.
    pub latency_ms: Option<u64>,
    /// When the next attempt is due (unix ms).
    pub next_retry_at: Option<u64>,
    /// Until when the current attempt holds the delivery.
    pub lease_until: Option<u64>,
    /// The host attempting it (hands it back when it restarts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms.
    pub updated_at: u64,
}

/// One entry of `queue:webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// Delivery id.
    pub id: String,
    /// When it is due (unix ms).
    pub due: u64,
}

fn endpoint_key(id: &str) -> String {
    format!("whep:{id}")
}
fn endpoint_list_key(account: &str) -> String {
    format!("whep:list:{account}")
}
fn delivery_key(id: &str) -> String {
    format!("whdl:{id}")
}
fn endpoint_log_key(endpoint: &str) -> String {
    format!("whlog:{endpoint}")
}
fn account_log_key(account: &str) -> String {
    format!("whlog:acct:{account}")
}
fn default_secret_key(account: &str) -> String {
    format!("whsec:{account}")
}

// ---------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------

/// The endpoint object of the API (bare). The secret is masked unless
/// `reveal` (create and rotate show it, once).
pub fn endpoint_json(ep: &Endpoint, reveal: bool, now: u64) -> Value {
    json!({
        "id": ep.id,
        "url": ep.url,
        "secret": if reveal { ep.secret.secret.clone() } else { masked(&ep.secret.secret) },
        "description": ep.description,
        "event_types": ep.event_types,
        "enabled": ep.enabled,
        "event_naming": ep.event_naming,
        "disabled_reason": ep.disabled_reason,
        "consecutive_failures": ep.consecutive_failures,
        "previous_secret_expires_at": ep.secret.previous_at(now)
            .and(ep.secret.previous_until).map(iso8601),
        "created_at": iso8601(ep.created_at),
        "updated_at": iso8601(ep.updated_at),
    })
}

/// A delivery log row (bare), as the SDK's `WebhookDelivery` reads it.
pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "job_id": d.job_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "url": d.url,
        "status": d.status.as_str(),
        "http_status": d.http_status,
        "attempt": d.attempt,
        "last_error": d.last_error,
        "latency_ms": d.latency_ms,
        "next_retry_at": d.next_retry_at.map(iso8601),
        "created_at": iso8601(d.created_at),
        "updated_at": iso8601(d.updated_at),
    })
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// A webhook target URL: absolute `http(s)` with a host, at most 2048 bytes.
/// Whether its address may be reached is the host's outbound policy's call,
/// at delivery time (DNS can change).
pub fn check_url(field: &str, v: Option<&Value>) -> Result<String, ApiError> {
    let Some(Value::String(url)) = v else {
        return Err(ApiError::field(
            field,
            if v.is_none() {
                "Field required"
            } else {
                "Input should be a valid string"
            },
        ));
    };
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let authority = r.split(['/', '?', '#']).next().unwrap_or("");
        !authority.is_empty()
            && !authority.starts_with(':')
            && !authority.contains(char::is_whitespace)
    });
    if !host_ok {
        return Err(ApiError::field(
            field,
            "URL must be an absolute http:// or https:// URL with a host",
        ));
    }
    if url.len() > 2048 {
        return Err(ApiError::field(
            field,
            "URL must be at most 2048 characters",
        ));
    }
    Ok(url.to_string())
}

fn check_event_types(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let field = "body -> event_types";
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::field(field, "Input should be a valid list")),
    };
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = format!("{field} -> {i}");
        let Some(s) = item.as_str() else {
            return Err(ApiError::field(&f, "Input should be a valid string"));
        };
        if !EVENT_TYPES.iter().any(|(t, _)| *t == s) {
            let known: Vec<&str> = EVENT_TYPES.iter().map(|(t, _)| *t).collect();
            return Err(ApiError::field(
                &f,
                &format!("Unknown event type '{s}'; known: {}", known.join(", ")),
            ));
        }
        if !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    }
    Ok(out)
}

fn check_description(v: Option<&Value>) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::field(
            "body -> description",
            "String should have at most 255 characters",
        )),
        Some(_) => Err(ApiError::field(
            "body -> description",
            "Input should be a valid string",
        )),
    }
}

/// `event_naming` as the SDK documents it: given outright, or read from the
/// spelling of the event list (earlier `2d_` names pin `legacy`, current
/// `photo_mockup` names pin `current`, anything else `legacy`).
fn check_event_naming(v: Option<&Value>, types: &[String]) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s == "current" || s == "legacy" => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::field(
            "body -> event_naming",
            "Input should be 'current' or 'legacy'",
        )),
    }
    .map(|given| {
        given.or_else(|| {
            let current = types.iter().any(|t| t.starts_with("photo_mockup"));
            let legacy = types.iter().any(|t| t.starts_with("2d_"));
            Some(
                if current && !legacy {
                    "current"
                } else {
                    "legacy"
                }
                .to_string(),
            )
        })
    })
}

/// The `webhook` object of an async render or upload submit: `{url}`.
/// `Ok(None)` when absent.
pub fn request_webhook(body: &Value) -> Result<Option<String>, ApiError> {
    match body.get("webhook") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => check_url("body -> webhook -> url", o.get("url")).map(Some),
        Some(_) => Err(ApiError::field(
            "body -> webhook",
            "Input should be a valid dictionary",
        )),
    }
}

/// The account's default secret, created on first use. Returns it and
/// whether it was just created (then the caller shows it, once).
pub fn default_secret(env: &dyn Env, account: &str) -> Result<(SigningSecret, bool), ApiError> {
    let key = default_secret_key(account);
    if let Some(s) = get_json::<SigningSecret>(env.store(), &key)? {
        return Ok((s, false));
    }
    let fresh = SigningSecret::new(env);
    if env
        .store()
        .compare_and_swap(&key, None, &to_bytes(&fresh))?
    {
        return Ok((fresh, true));
    }
    let s = get_json::<SigningSecret>(env.store(), &key)?
        .ok_or_else(|| ApiError::Internal("the default webhook secret vanished".into()))?;
    Ok((s, false))
}

/// What the 202 of a submit with a `webhook` says about it: the URL and the
/// account's default secret (in full only when this submit created it).
pub fn request_webhook_ack(env: &dyn Env, account: &str, url: &str) -> Result<Value, ApiError> {
    let (secret, created) = default_secret(env, account)?;
    Ok(json!({
        "url": url,
        "secret": if created { secret.secret.clone() } else { masked(&secret.secret) },
    }))
}

// ---------------------------------------------------------------------------
// Endpoint management (the owner's routes)
// ---------------------------------------------------------------------------

fn load_endpoint(
    env: &dyn Env,
    caller: &Caller,
    id: &str,
) -> Result<(Endpoint, Vec<u8>), ApiError> {
    let not_found = || ApiError::NotFound("Webhook endpoint not found".into());
    if !crate::util::is_uuid(id) {
        return Err(not_found());
    }
    let raw = env.store().get(&endpoint_key(id))?.ok_or_else(not_found)?;
    let ep: Endpoint = serde_json::from_slice(&raw).map_err(|_| not_found())?;
    if ep.account_id != caller.account_id {
        return Err(not_found());
    }
    Ok((ep, raw))
}

/// Writes an endpoint over exactly `old`; a lost race is a 409.
fn swap_endpoint(env: &dyn Env, old: &[u8], ep: &Endpoint) -> Result<(), ApiError> {
    if env
        .store()
        .compare_and_swap(&endpoint_key(&ep.id), Some(old), &to_bytes(ep))?
    {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            "The webhook endpoint changed meanwhile; try again".into(),
        ))
    }
}

/// `POST /api/v1/webhook-endpoints`: `{url, event_types, description?,
/// event_naming?}` -> 201 with the endpoint and its secret in full.
pub fn create(env: &dyn Env, caller: &Caller, req: &Request) -> Result<Response, ApiError> {
    let body = parse_json_body(req)?;
    let url = check_url("body -> url", body.get("url"))?;
    let event_types = check_event_types(body.get("event_types"))?;
    let description = check_description(body.get("description"))?;
    let event_naming = check_event_naming(body.get("event_naming"), &event_types)?
        .unwrap_or_else(|| "legacy".into());
    let now = env.now_ms();
    let ep = Endpoint {
        id: uuid_v4(env),
        account_id: caller.account_id.clone(),
        url,
        secret: SigningSecret::new(env),
        description,
        event_types,
        event_naming,
        enabled: true,
        disabled_reason: None,
        consecutive_failures: 0,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    // The list first: an endpoint over the limit is never stored.
    let mut full = false;
    update_json(
        env.store(),
        &endpoint_list_key(&caller.account_id),
        |mut ids: Vec<String>| {
            full = ids.len() >= MAX_ENDPOINTS;
            if full {
                return None;
            }
            ids.push(ep.id.clone());
            Some(ids)
        },
    )?;
    if full {
        return Err(ApiError::BadRequest(format!(
            "An account can have at most {MAX_ENDPOINTS} webhook endpoints"
        )));
    }
    set_json(env.store(), &endpoint_key(&ep.id), &ep)?;
    Ok(Response::json(201, &endpoint_json(&ep, true, now)))
}

/// `GET /api/v1/webhook-endpoints`: a bare array, oldest first.
pub fn list(env: &dyn Env, caller: &Caller) -> Result<Response, ApiError> {
    let ids: Vec<String> =
        get_json(env.store(), &endpoint_list_key(&caller.account_id))?.unwrap_or_default();
    let now = env.now_ms();
    let mut out = Vec::new();
    for id in ids {
        if let Some(ep) = get_json::<Endpoint>(env.store(), &endpoint_key(&id))? {
            if ep.account_id == caller.account_id {
                out.push(endpoint_json(&ep, false, now));
            }
        }
    }
    Ok(Response::json(200, &Value::Array(out)))
}

/// `GET /api/v1/webhook-endpoints/{uuid}`.
pub fn get(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let (ep, _) = load_endpoint(env, caller, id)?;
    Ok(Response::json(
        200,
        &endpoint_json(&ep, false, env.now_ms()),
    ))
}

/// `PATCH /api/v1/webhook-endpoints/{uuid}`: any of `url`, `event_types`,
/// `description`, `enabled`, `event_naming`. Enabling an endpoint clears
/// its failure history and the reason it was disabled.
pub fn update(
    env: &dyn Env,
    caller: &Caller,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let body = parse_json_body(req)?;
    let (mut ep, raw) = load_endpoint(env, caller, id)?;
    if body.get("url").is_some() {
        ep.url = check_url("body -> url", body.get("url"))?;
    }
    if body.get("event_types").is_some() {
        ep.event_types = check_event_types(body.get("event_types"))?;
    }
    if body.get("description").is_some() {
        ep.description = check_description(body.get("description"))?;
    }
    if let Some(naming) = check_event_naming(body.get("event_naming"), &[])? {
        if body.get("event_naming").is_some_and(|v| !v.is_null()) {
            ep.event_naming = naming;
        }
    }
    match body.get("enabled") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(on)) => {
            if *on && !ep.enabled {
                ep.disabled_reason = None;
                ep.consecutive_failures = 0;
                ep.failing_since = None;
            }
            ep.enabled = *on;
        }
        Some(_) => {
            return Err(ApiError::field(
                "body -> enabled",
                "Input should be a valid boolean",
            ))
        }
    }
    ep.updated_at = env.now_ms();
    swap_endpoint(env, &raw, &ep)?;
    Ok(Response::json(
        200,
        &endpoint_json(&ep, false, env.now_ms()),
    ))
}

/// `DELETE /api/v1/webhook-endpoints/{uuid}`: the endpoint and its log.
/// Deliveries still queued for it are dropped when next met.
pub fn delete(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let (ep, _) = load_endpoint(env, caller, id)?;
    update_json(
        env.store(),
        &endpoint_list_key(&caller.account_id),
        |mut ids: Vec<String>| {
            let before = ids.len();
            ids.retain(|x| x != &ep.id);
            (ids.len() != before).then_some(ids)
        },
    )?;
    env.store().delete(&endpoint_key(&ep.id))?;
    let log: Vec<String> = get_json(env.store(), &endpoint_log_key(&ep.id))?.unwrap_or_default();
    for d in log {
        if let Some(rec) = get_json::<Delivery>(env.store(), &delivery_key(&d))? {
            if rec.status.is_final() {
                env.store().delete(&delivery_key(&d))?;
            }
        }
    }
    env.store().delete(&endpoint_log_key(&ep.id))?;
    Ok(Response::json(
        200,
        &json!({"success": true, "deleted": ep.id}),
    ))
}

/// `POST /api/v1/webhook-endpoints/{uuid}/rotate-secret[?overlap_seconds=N]`:
/// a new secret, shown in full once; the old one also signs (in
/// `X-SudoMock-Signature-Previous`) for the overlap (24 h by default).
pub fn rotate_secret(
    env: &dyn Env,
    caller: &Caller,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let overlap_s = query_int(
        req,
        "overlap_seconds",
        ROTATION_OVERLAP_MS / 1000,
        0,
        MAX_OVERLAP_SECONDS,
    )?;
    let (mut ep, raw) = load_endpoint(env, caller, id)?;
    ep.secret.rotate(env, overlap_s * 1000);
    ep.updated_at = env.now_ms();
    swap_endpoint(env, &raw, &ep)?;
    Ok(Response::json(200, &endpoint_json(&ep, true, env.now_ms())))
}

/// `GET /api/v1/webhook-secret`: the account's default secret (signs
/// per-request webhooks), masked.
pub fn get_default_secret(env: &dyn Env, caller: &Caller) -> Result<Response, ApiError> {
    let (s, created) = default_secret(env, &caller.account_id)?;
    let shown = if created {
        s.secret.clone()
    } else {
        masked(&s.secret)
    };
    Ok(Response::json(200, &json!({ "secret": shown })))
}

/// `POST /api/v1/webhook-secret/rotate[?overlap_seconds=N]`: a new default
/// secret, shown in full once.
pub fn rotate_default_secret(
    env: &dyn Env,
    caller: &Caller,
    req: &Request,
) -> Result<Response, ApiError> {
    let overlap_s = query_int(
        req,
        "overlap_seconds",
        ROTATION_OVERLAP_MS / 1000,
        0,
        MAX_OVERLAP_SECONDS,
    )?;
    let key = default_secret_key(&caller.account_id);
    let mut shown = String::new();
    update_json(env.store(), &key, |cur: Option<SigningSecret>| {
        let next = match cur {
            Some(mut s) => {
                s.rotate(env, overlap_s * 1000);
                s
            }
            None => SigningSecret::new(env),
        };
        shown = next.secret.clone();
        Some(Some(next))
    })?;
    Ok(Response::json(200, &json!({ "secret": shown })))
}

/// `GET /api/v1/webhook-endpoints/events`. Without query parameters: the
/// event types an endpoint can subscribe to, as `{id, event_type,
/// description}` rows. With any of `status`, `event_type`, `limit`
/// (1..200, default 100): the account's recent deliveries, newest first,
/// as the SDK's `events()` reads them.
pub fn events(env: &dyn Env, caller: &Caller, req: &Request) -> Result<Response, ApiError> {
    let feed = ["status", "event_type", "limit"]
        .iter()
        .any(|q| req.query_value(q).is_some());
    if !feed {
        let rows: Vec<Value> = EVENT_TYPES
            .iter()
            .map(|(t, d)| json!({"id": t, "event_type": t, "description": d}))
            .collect();
        return Ok(Response::json(200, &Value::Array(rows)));
    }
    let limit = query_int(req, "limit", 100, 1, LOG_LEN as u64)? as usize;
    let status = req.query_value("status").filter(|s| !s.is_empty());
    let event_type = req.query_value("event_type").filter(|s| !s.is_empty());
    let ids: Vec<String> =
        get_json(env.store(), &account_log_key(&caller.account_id))?.unwrap_or_default();
    let mut out = Vec::new();
    for id in ids {
        if out.len() >= limit {
            break;
        }
        let Some(d) = get_json::<Delivery>(env.store(), &delivery_key(&id))? else {
            continue;
        };
        if d.account_id != caller.account_id
            || status.is_some_and(|s| s != d.status.as_str())
            || event_type.is_some_and(|t| t != d.event_type)
        {
            continue;
        }
        out.push(delivery_json(&d));
    }
    Ok(Response::json(200, &Value::Array(out)))
}

/// `GET /api/v1/webhook-endpoints/{uuid}/deliveries`: the endpoint's log,
/// newest first (bare array).
pub fn deliveries(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let (ep, _) = load_endpoint(env, caller, id)?;
    let ids: Vec<String> = get_json(env.store(), &endpoint_log_key(&ep.id))?.unwrap_or_default();
    let mut out = Vec::new();
    for d in ids {
        if let Some(rec) = get_json::<Delivery>(env.store(), &delivery_key(&d))? {
            out.push(delivery_json(&rec));
        }
    }
    Ok(Response::json(200, &Value::Array(out)))
}

/// `POST /api/v1/webhook-endpoints/{uuid}/test`: queues a `webhook.test`
/// event for this endpoint (202 with the delivery).
pub fn send_test(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let (ep, _) = load_endpoint(env, caller, id)?;
    if !ep.enabled {
        return Err(ApiError::Conflict(
            "The webhook endpoint is disabled; enable it first".into(),
        ));
    }
    let now = env.now_ms();
    let event_id = format!("evt_{}", crate::util::random_hex128(env));
    let body = event_body(
        &event_id,
        TEST_EVENT,
        now,
        json!({
            "endpoint_id": ep.id,
            "message": "This is a test delivery from the mockup API.",
        }),
    );
    let d = new_delivery(
        env,
        &ep.account_id,
        Some(&ep.id),
        &ep.url,
        None,
        &event_id,
        TEST_EVENT,
        body,
    );
    enqueue(env, &d)?;
    Ok(Response::json(202, &delivery_json(&d)))
}

/// Makes a delivery due now again, with a fresh set of attempts.
fn replay_one(env: &dyn Env, id: &str) -> Result<Option<Delivery>, ApiError> {
    let mut out = None;
    let now = env.now_ms();
    update_json(env.store(), &delivery_key(id), |cur: Option<Delivery>| {
        let mut d = cur?;
        if d.status == DeliveryStatus::Delivering && d.lease_until.is_some_and(|u| u > now) {
            return None;
        }
        d.status = DeliveryStatus::Pending;
        d.attempt = 0;
        d.next_retry_at = Some(now);
        d.lease_until = None;
        d.lease_owner = None;
        d.updated_at = now;
        out = Some(d.clone());
        Some(Some(d))
    })?;
    if let Some(d) = &out {
        queue_set_due(env, &d.id, now)?;
    }
    Ok(out)
}

/// `POST /api/v1/webhook-endpoints/{uuid}/deliveries/{delivery_id}/replay`:
/// sends a delivery again (same event id and body; receivers de-duplicate).
pub fn replay(
    env: &dyn Env,
    caller: &Caller,
    id: &str,
    delivery_id: &str,
) -> Result<Response, ApiError> {
    let (ep, _) = load_endpoint(env, caller, id)?;
    if !ep.enabled {
        return Err(ApiError::Conflict(
            "The webhook endpoint is disabled; enable it first".into(),
        ));
    }
    let not_found = || ApiError::NotFound("Delivery not found".into());
    let d: Delivery = get_json(env.store(), &delivery_key(delivery_id))?.ok_or_else(not_found)?;
    if d.account_id != caller.account_id || d.endpoint_id.as_deref() != Some(ep.id.as_str()) {
        return Err(not_found());
    }
    match replay_one(env, delivery_id)? {
        Some(d) => Ok(Response::json(202, &delivery_json(&d))),
        None => Err(ApiError::Conflict(
            "The delivery is being attempted right now".into(),
        )),
    }
}

/// `POST /api/v1/webhook-endpoints/{uuid}/deliveries/replay-failed`: every
/// `failed` or `dead` delivery in the endpoint's log is sent again.
pub fn replay_failed(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let (ep, _) = load_endpoint(env, caller, id)?;
    if !ep.enabled {
        return Err(ApiError::Conflict(
            "The webhook endpoint is disabled; enable it first".into(),
        ));
    }
    let ids: Vec<String> = get_json(env.store(), &endpoint_log_key(&ep.id))?.unwrap_or_default();
    let mut replayed = Vec::new();
    for d in ids {
        let Some(rec) = get_json::<Delivery>(env.store(), &delivery_key(&d))? else {
            continue;
        };
        if matches!(rec.status, DeliveryStatus::Failed | DeliveryStatus::Dead)
            && replay_one(env, &d)?.is_some()
        {
            replayed.push(d);
        }
    }
    Ok(Response::json(
        202,
        &json!({"replayed": replayed.len(), "delivery_ids": replayed}),
    ))
}

// ---------------------------------------------------------------------------
// Events and the queue
// ---------------------------------------------------------------------------

/// Records that `job` is about to reach a terminal state. Called *before*
/// the terminal write: the outbox entry of a job whose write then loses is
/// kept until the job is terminal, so no terminal state goes unreported.
pub fn note_terminal(env: &dyn Env, job_id: &str) -> Result<(), ApiError> {
    update_json(env.store(), EVENTS_QUEUE, |mut ids: Vec<String>| {
        if ids.iter().any(|x| x == job_id) {
            return None;
        }
        ids.push(job_id.to_string());
        Some(ids)
    })?;
    Ok(())
}

fn event_body(event_id: &str, event_type: &str, at: u64, data: Value) -> String {
    json!({
        "id": event_id,
        "type": event_type,
        "created_at": iso8601(at),
        "data": data,
    })
    .to_string()
}

#[allow(clippy::too_many_arguments)]
fn new_delivery(
    env: &dyn Env,
    account: &str,
    endpoint: Option<&str>,
    url: &str,
    job: Option<&str>,
    event_id: &str,
    event_type: &str,
    body: String,
) -> Delivery {
    let now = env.now_ms();
    let target = endpoint.unwrap_or("request");
    Delivery {
        id: format!(
            "whd_{}",
            &sha256_hex(format!("{event_id}|{target}").as_bytes())[..32]
        ),
        account_id: account.to_string(),
        endpoint_id: endpoint.map(str::to_string),
        url: url.to_string(),
        job_id: job.map(str::to_string),
        event_id: event_id.to_string(),
        event_type: event_type.to_string(),
        body,
        status: DeliveryStatus::Pending,
        attempt: 0,
        http_status: None,
        last_error: None,
        latency_ms: None,
        next_retry_at: Some(now),
        lease_until: None,
        lease_owner: None,
        created_at: now,
        updated_at: now,
    }
}

fn log_push(env: &dyn Env, key: &str, id: &str) -> Result<(), ApiError> {
    let mut dropped: Vec<String> = Vec::new();
    update_json(env.store(), key, |mut ids: Vec<String>| {
        if ids.iter().any(|x| x == id) {
            return None;
        }
        ids.insert(0, id.to_string());
        dropped = ids.split_off(ids.len().min(LOG_LEN));
        Some(ids)
    })?;
    // A row that falls off both logs is deleted once it is final (a
    // delivery still retrying is deleted when it finishes unlogged).
    for d in dropped {
        if key.starts_with("whlog:acct:") {
            if let Some(rec) = get_json::<Delivery>(env.store(), &delivery_key(&d))? {
                if rec.status.is_final() {
                    env.store().delete(&delivery_key(&d))?;
                }
            }
        }
    }
    Ok(())
}

/// Stores a new delivery (once: its id is derived from the event and the
/// target) and makes sure it is queued and logged. Safe to repeat.
fn enqueue(env: &dyn Env, d: &Delivery) -> Result<(), ApiError> {
    env.store()
        .compare_and_swap(&delivery_key(&d.id), None, &to_bytes(d))?;
    queue_set_due(env, &d.id, d.next_retry_at.unwrap_or(d.created_at))?;
    if let Some(ep) = &d.endpoint_id {
        log_push(env, &endpoint_log_key(ep), &d.id)?;
    }
    log_push(env, &account_log_key(&d.account_id), &d.id)?;
    Ok(())
}

/// Adds or moves a delivery's queue entry.
fn queue_set_due(env: &dyn Env, id: &str, due: u64) -> Result<(), ApiError> {
    update_json(env.store(), DELIVERY_QUEUE, |mut q: Vec<QueueEntry>| {
        match q.iter_mut().find(|e| e.id == id) {
            Some(e) if e.due == due => return None,
            Some(e) => e.due = due,
            None => q.push(QueueEntry {
                id: id.to_string(),
                due,
            }),
        }
        Some(q)
    })?;
    Ok(())
}

fn queue_remove(env: &dyn Env, id: &str) -> Result<(), ApiError> {
    update_json(env.store(), DELIVERY_QUEUE, |mut q: Vec<QueueEntry>| {
        let before = q.len();
        q.retain(|e| e.id != id);
        (q.len() != before).then_some(q)
    })?;
    Ok(())
}

/// Turns a terminal job into its deliveries.
fn fan_out(env: &dyn Env, job: &JobRecord) -> Result<(), ApiError> {
    let event_type = format!("{}.{}", job.kind.as_str(), job.status.as_str());
    let event_id = format!("evt_{}", job.id.replace('-', ""));
    let at = job.completed_at.unwrap_or(job.updated_at);
    let body = event_body(&event_id, &event_type, at, jobs::job_json(job, false));
    let ids: Vec<String> =
        get_json(env.store(), &endpoint_list_key(&job.account_id))?.unwrap_or_default();
    for id in ids {
        let Some(ep) = get_json::<Endpoint>(env.store(), &endpoint_key(&id))? else {
            continue;
        };
        // An endpoint hears of events that happened after it was created,
        // however late the outbox is drained.
        if ep.enabled
            && ep.account_id == job.account_id
            && ep.subscribes(&event_type)
            && ep.created_at <= at
        {
            let d = new_delivery(
                env,
                &job.account_id,
                Some(&ep.id),
                &ep.url,
                Some(&job.id),
                &event_id,
                &event_type,
                body.clone(),
            );
            enqueue(env, &d)?;
        }
    }
    if let Some(url) = &job.webhook_url {
        let d = new_delivery(
            env,
            &job.account_id,
            None,
            url,
            Some(&job.id),
            &event_id,
            &event_type,
            body,
        );
        enqueue(env, &d)?;
    }
    Ok(())
}

/// Turns the outbox entries of terminal jobs into deliveries.
fn drain_events(env: &dyn Env) -> Result<(), ApiError> {
    let ids: Vec<String> = get_json(env.store(), EVENTS_QUEUE)?.unwrap_or_default();
    for id in ids {
        let done = match jobs::read_record(env, &id)? {
            None => true,
            Some(job) if job.status.is_terminal() => {
                fan_out(env, &job)?;
                true
            }
            Some(_) => false,
        };
        if done {
            update_json(env.store(), EVENTS_QUEUE, |mut q: Vec<String>| {
                let before = q.len();
                q.retain(|x| x != &id);
                (q.len() != before).then_some(q)
            })?;
        }
    }
    Ok(())
}

/// Claims the first due delivery: its record goes to `delivering` by
/// compare-and-swap (of two claimers one wins), and its queue entry is due
/// again when the lease ends.
fn claim(env: &dyn Env, worker: &str) -> Result<Option<(Delivery, Vec<u8>)>, ApiError> {
    let now = env.now_ms();
    let mut queue: Vec<QueueEntry> = get_json(env.store(), DELIVERY_QUEUE)?.unwrap_or_default();
    queue.sort_by_key(|e| e.due);
    for entry in queue.into_iter().take_while(|e| e.due <= now) {
        let Some(raw) = env.store().get(&delivery_key(&entry.id))? else {
            queue_remove(env, &entry.id)?;
            continue;
        };
        let Ok(d) = serde_json::from_slice::<Delivery>(&raw) else {
            queue_remove(env, &entry.id)?;
            continue;
        };
        if d.status.is_final() {
            queue_remove(env, &entry.id)?;
            continue;
        }
        if d.status == DeliveryStatus::Delivering && d.lease_until.is_some_and(|u| u > now) {
            continue;
        }
        let mut next = d;
        next.status = DeliveryStatus::Delivering;
        next.lease_until = Some(now.saturating_add(SEND_LEASE_MS));
        next.lease_owner = Some(worker.to_string());
        next.updated_at = now;
        let bytes = to_bytes(&next);
        if env
            .store()
            .compare_and_swap(&delivery_key(&next.id), Some(&raw), &bytes)?
        {
            queue_set_due(env, &next.id, now.saturating_add(SEND_LEASE_MS))?;
            return Ok(Some((next, bytes)));
        }
    }
    Ok(None)
}

/// Where a delivery goes and what signs it; `Err` when it can no longer go
/// anywhere (endpoint deleted or disabled).
fn target(
    env: &dyn Env,
    d: &Delivery,
) -> Result<Result<(String, SigningSecret), String>, ApiError> {
    match &d.endpoint_id {
        Some(id) => match get_json::<Endpoint>(env.store(), &endpoint_key(id))? {
            None => Ok(Err("The webhook endpoint was deleted".into())),
            Some(ep) if !ep.enabled => Ok(Err(format!(
                "The webhook endpoint is disabled{}",
                ep.disabled_reason
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ))),
            Some(ep) => Ok(Ok((ep.url, ep.secret))),
        },
        None => Ok(Ok((d.url.clone(), default_secret(env, &d.account_id)?.0))),
    }
}

/// The headers of one attempt.
fn headers(d: &Delivery, secret: &SigningSecret, now_ms: u64) -> Vec<(String, String)> {
    let ts = now_ms / 1000;
    let mut h = vec![
        ("content-type".to_string(), "application/json".to_string()),
        // Sized, not chunked: some receivers (Python's http.server among
        // them) read only a body with a length.
        ("content-length".to_string(), d.body.len().to_string()),
        ("user-agent".to_string(), "mockup-webhooks/1".to_string()),
        ("x-sudomock-event".to_string(), d.event_type.clone()),
        ("x-sudomock-event-id".to_string(), d.event_id.clone()),
        ("x-sudomock-delivery".to_string(), d.id.clone()),
        ("x-sudomock-attempt".to_string(), d.attempt.to_string()),
        ("x-sudomock-timestamp".to_string(), ts.to_string()),
        (
            "x-sudomock-signature".to_string(),
            sign(&secret.secret, ts, d.body.as_bytes()),
        ),
    ];
    if let Some(prev) = secret.previous_at(now_ms) {
        h.push((
            "x-sudomock-signature-previous".to_string(),
            sign(prev, ts, d.body.as_bytes()),
        ));
    }
    h
}

/// Records an attempt's outcome on the endpoint: a success resets its
/// failure run; a long enough run disables it, with the reason.
fn record_health(env: &dyn Env, endpoint: &str, ok: bool, error: &str) -> Result<(), ApiError> {
    let policy = retry_policy(env);
    let now = env.now_ms();
    update_json(
        env.store(),
        &endpoint_key(endpoint),
        |cur: Option<Endpoint>| {
            let mut ep = cur?;
            if ok {
                if ep.consecutive_failures == 0 {
                    return None;
                }
                ep.consecutive_failures = 0;
                ep.failing_since = None;
            } else {
                ep.consecutive_failures += 1;
                let since = *ep.failing_since.get_or_insert(now);
                if ep.enabled
                    && ep.consecutive_failures >= policy.disable_after_failures
                    && now.saturating_sub(since) >= policy.disable_after_ms
                {
                    ep.enabled = false;
                    ep.disabled_reason = Some(format!(
                    "Disabled automatically on {} after {} consecutive failed deliveries since {} (last: {error})",
                    iso8601(now),
                    ep.consecutive_failures,
                    iso8601(since),
                ));
                }
            }
            ep.updated_at = now;
            Some(Some(ep))
        },
    )?;
    Ok(())
}

/// `POST /internal/webhooks/deliver` (host only): turns finished jobs into
/// deliveries, then makes one due attempt. Answers `{"delivery_id": id |
/// null, "status": ...}`; the host calls again at once after a delivery.
pub fn deliver(env: &dyn Env, req: &Request) -> Result<Response, ApiError> {
    drain_events(env)?;
    let Some((mut d, claimed)) = claim(env, &worker_id(req))? else {
        return Ok(Response::json(200, &json!({ "delivery_id": null })));
    };
    let policy = retry_policy(env);
    let start = env.now_ms();
    let outcome: Result<u16, String> = match target(env, &d)? {
        Err(gone) => {
            d.status = DeliveryStatus::Dead;
            d.last_error = Some(gone);
            d.next_retry_at = None;
            d.lease_until = None;
            d.lease_owner = None;
            d.updated_at = start;
            finish(env, &d, &claimed)?;
            return Ok(Response::json(
                200,
                &json!({ "delivery_id": d.id, "status": d.status.as_str() }),
            ));
        }
        Ok((url, secret)) => {
            d.attempt += 1;
            d.url = url.clone();
            env.post(&url, &headers(&d, &secret, start), d.body.as_bytes())
        }
    };
    let now = env.now_ms();
    d.latency_ms = Some(now.saturating_sub(start));
    d.lease_until = None;
    d.lease_owner = None;
    d.updated_at = now;
    let error = match outcome {
        Ok(code) => {
            d.http_status = Some(code);
            if (200..300).contains(&code) {
                None
            } else {
                Some(format!("The receiver answered HTTP {code}"))
            }
        }
        Err(e) => {
            d.http_status = None;
            Some(e)
        }
    };
    match &error {
        None => {
            d.status = DeliveryStatus::Succeeded;
            d.last_error = None;
            d.next_retry_at = None;
        }
        Some(e) if d.attempt >= policy.max_attempts => {
            d.status = DeliveryStatus::Dead;
            d.last_error = Some(format!("{e} (gave up after {} attempts)", d.attempt));
            d.next_retry_at = None;
        }
        Some(e) => {
            let mut j = [0u8; 2];
            env.random(&mut j);
            let jitter = u16::from_le_bytes(j) as f64 / u16::MAX as f64;
            d.status = DeliveryStatus::Failed;
            d.last_error = Some(e.clone());
            d.next_retry_at = Some(now.saturating_add(policy.delay_ms(d.attempt, jitter)));
        }
    }
    finish(env, &d, &claimed)?;
    if let Some(ep) = &d.endpoint_id {
        record_health(env, ep, error.is_none(), error.as_deref().unwrap_or(""))?;
    }
    Ok(Response::json(
        200,
        &json!({ "delivery_id": d.id, "status": d.status.as_str() }),
    ))
}

/// The host calling an internal route (`x-mockup-worker-id`).
fn worker_id(req: &Request) -> String {
    req.header_value("x-mockup-worker-id")
        .filter(|w| !w.is_empty())
        .unwrap_or("worker")
        .to_string()
}

/// `POST /internal/webhooks/release` with `{"worker_id": ...}` (host only):
/// the deliveries that host was attempting when it stopped are due again
/// at once, instead of when their lease runs out. The attempt cut short is
/// not counted. Answers `{"released": [ids]}`.
pub fn release(env: &dyn Env, req: &Request) -> Result<Response, ApiError> {
    let body = parse_json_body(req)?;
    let worker = body
        .get("worker_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::field("body -> worker_id", "Field required"))?
        .to_string();
    let now = env.now_ms();
    let queue: Vec<QueueEntry> = get_json(env.store(), DELIVERY_QUEUE)?.unwrap_or_default();
    let mut released = Vec::new();
    for entry in queue {
        let mut done = false;
        update_json(
            env.store(),
            &delivery_key(&entry.id),
            |cur: Option<Delivery>| {
                let mut d = cur?;
                if d.status != DeliveryStatus::Delivering
                    || d.lease_owner.as_deref() != Some(&worker)
                {
                    return None;
                }
                d.status = if d.attempt == 0 {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Failed
                };
                d.lease_until = None;
                d.lease_owner = None;
                d.next_retry_at = Some(now);
                d.updated_at = now;
                done = true;
                Some(Some(d))
            },
        )?;
        if done {
            queue_set_due(env, &entry.id, now)?;
            released.push(entry.id);
        }
    }
    Ok(Response::json(200, &json!({ "released": released })))
}

/// Stores an attempt's outcome over the claimed record and moves or drops
/// its queue entry. A lost swap means the lease ran out and another host
/// took the delivery over: its outcome stands.
fn finish(env: &dyn Env, d: &Delivery, claimed: &[u8]) -> Result<(), ApiError> {
    if !env
        .store()
        .compare_and_swap(&delivery_key(&d.id), Some(claimed), &to_bytes(d))?
    {
        return Ok(());
    }
    match d.next_retry_at {
        Some(due) if !d.status.is_final() => queue_set_due(env, &d.id, due),
        _ => queue_remove(env, &d.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2: HMAC-SHA256 with key "Jefe".
    #[test]
    fn hmac_matches_rfc4231() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            crate::util::hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// `sign` is HMAC over "{ts}.{body}" (the SDK's layout), checked against
    /// the digest computed by Python's `hmac.new(b"whsec_test",
    /// b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest()`.
    #[test]
    fn signature_layout_matches_the_sdk() {
        assert_eq!(
            sign("whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn backoff_grows_by_three_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_ms(1, 0.5), 10_000);
        assert_eq!(p.delay_ms(2, 0.5), 30_000);
        assert_eq!(p.delay_ms(3, 0.5), 90_000);
        assert_eq!(p.delay_ms(20, 0.5), 4 * 3600 * 1000);
        assert_eq!(p.delay_ms(1, 0.0), 8_000);
        assert_eq!(p.delay_ms(1, 1.0), 12_000);
        // Twelve attempts span most of a day: "retries for hours".
        let total: u64 = (1..p.max_attempts).map(|a| p.delay_ms(a, 0.5)).sum();
        assert!(
            total > 12 * 3600 * 1000 && total < 36 * 3600 * 1000,
            "{total}"
        );
    }

    #[test]
    fn secrets_are_masked_to_their_last_four() {
        assert_eq!(masked("whsec_abcdefgh1234"), "whsec_****1234");
    }
}
