//! Asynchronous jobs: records, the state machine, the queue, leases, the
//! owner's views (get, list, cancel) and the worker entry points.
//!
//! Keys in the store:
//!
//! * `job:{uuid}` -> [`JobRecord`], the single source of truth of a job's
//!   state. Every state change is a compare-and-swap on this record, so two
//!   hosts can never both move a job.
//! * `idx:jobs:{account}:{n}` -> page `n` of the owner's [`IndexEntry`]
//!   list, newest first, at most [`INDEX_PAGE`] entries; `idx:jobs:{account}:head`
//!   -> the page new jobs go to. Entries carry `created_at` and `kind`, so
//!   filtering and the keyset cursor read no job record beyond the page
//!   shown, and no single value grows without bound.
//! * `queue:jobs` -> job ids that are (or were) `queued`, oldest first. A hint
//!   only: an id whose record is no longer `queued` is dropped when met.
//! * `queue:leased` -> job ids that are (or were) `dispatched`/`running`, for
//!   lease expiry and per-worker requeue without a key scan.
//! * `charged:{job}` -> written once with CAS from absent by whoever charges
//!   the job's credit, so a job is never charged twice.
//!
//! State machine: `queued -> dispatched -> running -> succeeded | failed`,
//! and `cancelled` from any non-terminal state. A lease that expires (or a
//! worker requeue) sends `dispatched`/`running` back to `queued`. Terminal
//! states never change.

use crate::accounts::{self, Caller};
use crate::env::{get_json, set_json, to_bytes, update_json, Env};
use crate::errors::ApiError;
use crate::files;
use crate::http::{Request, Response};
use crate::mockups::{self, query_int};
use crate::renders;
use crate::util::{hex, is_uuid, iso8601, unhex, uuid_v4};
use crate::webhooks;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// How long a worker may hold a job before it is assumed dead and the job
/// is requeued. Renders are synchronous inside one work call, so this must
/// exceed the slowest render.
pub const LEASE_MS: u64 = 15 * 60 * 1000;
/// Claims after which a job that keeps losing its worker is failed instead
/// of requeued (a template that crashes the worker must not loop forever).
pub const MAX_ATTEMPTS: u32 = 3;
/// Largest payload kept inside the job record. A render request with
/// base64 artwork can be megabytes: it goes to a private blob instead, so
/// the record (rewritten at every state change) stays small.
pub const INLINE_PAYLOAD_MAX: usize = 64 << 10;
/// Entries per page of an account's job index.
pub const INDEX_PAGE: usize = 256;
/// Default page size of the job list.
pub const DEFAULT_LIMIT: u64 = 20;
/// Largest page size of the job list.
pub const MAX_LIMIT: u64 = 50;

const QUEUE: &str = "queue:jobs";
const LEASED: &str = "queue:leased";

/// What a job produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A mockup render.
    Render,
    /// A PSD upload.
    Upload,
}

impl JobKind {
    /// The wire name (`render`, `upload`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Render => "render",
            JobKind::Upload => "upload",
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a worker.
    Queued,
    /// Claimed by a worker, about to start.
    Dispatched,
    /// Being processed.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Finished without a result.
    Failed,
    /// Stopped by its owner.
    Cancelled,
}

impl Status {
    /// Whether the state is final.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    /// The wire name (`queued`, ..., `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Dispatched => "dispatched",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
}

/// What `job:{uuid}` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// UUID (`render_uuid` and `job_id` on the wire).
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// What it produces.
    pub kind: JobKind,
    /// Current state.
    pub status: Status,
    /// The work: a render request body or an upload payload.
    pub payload: Value,
    /// The public base URL at submit time (result URLs are built from it).
    pub base_url: String,
    /// Name of the source mockup, for list rows.
    pub mockup_name: Option<String>,
    /// Result file URL (render) or `/library/mockups/{uuid}` (upload).
    pub result_url: Option<String>,
    /// The created mockup (upload).
    pub mockup_uuid: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Credits charged, once terminal.
    pub credits_charged: Option<i64>,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds of the latest state change.
    pub updated_at: u64,
    /// When a worker claimed it.
    pub dispatched_at: Option<u64>,
    /// When it started running.
    pub started_at: Option<u64>,
    /// When it reached a terminal state.
    pub completed_at: Option<u64>,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// Until when the worker holds it.
    pub lease_until: Option<u64>,
    /// Times it has been claimed.
    pub attempts: u32,
    /// The submit's own `webhook.url`, notified with the account's
    /// endpoints when the job ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
}

/// One entry of an account's job index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Creation time, unix milliseconds.
    pub t: u64,
    /// Job id.
    pub id: String,
    /// Kind.
    pub kind: JobKind,
}

fn job_key(id: &str) -> String {
    format!("job:{id}")
}

/// Reads a job record.
pub fn read_record(env: &dyn Env, id: &str) -> Result<Option<JobRecord>, ApiError> {
    Ok(read(env, id)?.map(|(j, _)| j))
}

/// Reads a job with its exact stored bytes (for CAS).
fn read(env: &dyn Env, id: &str) -> Result<Option<(JobRecord, Vec<u8>)>, ApiError> {
    let Some(raw) = env.store().get(&job_key(id))? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&raw).ok().map(|j| (j, raw)))
}

/// Replaces a job only if it still holds exactly `old`. Returns the new
/// bytes when written.
fn swap(env: &dyn Env, old: &[u8], new: &JobRecord) -> Result<Option<Vec<u8>>, ApiError> {
    let bytes = to_bytes(new);
    Ok(env
        .store()
        .compare_and_swap(&job_key(&new.id), Some(old), &bytes)?
        .then_some(bytes))
}

fn list_remove(env: &dyn Env, key: &str, id: &str) -> Result<(), ApiError> {
    update_json(env.store(), key, |mut ids: Vec<String>| {
        let before = ids.len();
        ids.retain(|x| x != id);
        (ids.len() != before).then_some(ids)
    })?;
    Ok(())
}

fn list_push(env: &dyn Env, key: &str, id: &str) -> Result<(), ApiError> {
    update_json(env.store(), key, |mut ids: Vec<String>| {
        if ids.iter().any(|x| x == id) {
            return None;
        }
        ids.push(id.to_string());
        Some(ids)
    })?;
    Ok(())
}

/// Stores a new `queued` job and answers the spec's 202.
pub fn submit(
    env: &dyn Env,
    caller: &Caller,
    kind: JobKind,
    payload: Value,
    mockup_name: Option<String>,
    webhook_url: Option<String>,
) -> Result<Response, ApiError> {
    let now = env.now_ms();
    let bytes = to_bytes(&payload);
    let payload = if bytes.len() > INLINE_PAYLOAD_MAX {
        let blob = files::put(
            env,
            &caller.account_id,
            &bytes,
            "application/json",
            false,
            None,
        )?;
        json!({ "payload_blob": blob })
    } else {
        payload
    };
    let job = JobRecord {
        id: uuid_v4(env),
        account_id: caller.account_id.clone(),
        kind,
        status: Status::Queued,
        payload,
        base_url: env.base_url(),
        mockup_name,
        result_url: None,
        mockup_uuid: None,
        error: None,
        credits_charged: None,
        created_at: now,
        updated_at: now,
        dispatched_at: None,
        started_at: None,
        completed_at: None,
        lease_owner: None,
        lease_until: None,
        attempts: 0,
        webhook_url,
    };
    let store = env.store();
    // Record, then the owner's index, then the queue: a job is visible to
    // its owner before a worker can pick it up.
    set_json(store, &job_key(&job.id), &job)?;
    index_insert(
        env,
        &job.account_id,
        IndexEntry {
            t: now,
            id: job.id.clone(),
            kind,
        },
    )?;
    list_push(env, QUEUE, &job.id)?;
    let mut body = json!({
        "render_uuid": job.id,
        "job_id": job.id,
        "kind": kind.as_str(),
        "status": "queued",
        "status_url": format!("/api/v1/jobs/{}", job.id),
    });
    if let Some(url) = &job.webhook_url {
        body["webhook"] = webhooks::request_webhook_ack(env, &job.account_id, url)?;
    }
    Ok(Response::json(202, &body))
}

/// The work of a job, loaded from its blob when it was too big to inline.
pub fn payload(env: &dyn Env, job: &JobRecord) -> Result<Value, String> {
    let Some(blob) = job.payload["payload_blob"].as_str() else {
        return Ok(job.payload.clone());
    };
    let (_, bytes) = files::get(env, blob)
        .map_err(|e| e.to_string())?
        .ok_or("The job's request is no longer available")?;
    serde_json::from_slice(&bytes).map_err(|_| "The job's request is unreadable".to_string())
}

/// Deletes a job's payload blob once the job is terminal.
fn release_payload(env: &dyn Env, job: &JobRecord) -> Result<(), ApiError> {
    match job.payload["payload_blob"].as_str() {
        Some(blob) => files::delete(env, blob),
        None => Ok(()),
    }
}

/// The job object of the API (bare, as the spec and the SDK expect).
pub fn job_json(job: &JobRecord, list_item: bool) -> Value {
    let ts = |t: Option<u64>| t.map(iso8601);
    let mut v = json!({
        "render_uuid": job.id,
        "job_id": job.id,
        "kind": job.kind.as_str(),
        "status": job.status.as_str(),
        "model": null,
        "result_url": job.result_url,
        "mockup_uuid": job.mockup_uuid,
        "error": job.error,
        "credits_charged": job.credits_charged,
        "payg": null,
        "created_at": iso8601(job.created_at),
        "updated_at": iso8601(job.updated_at),
        "started_at": ts(job.started_at),
        "completed_at": ts(job.completed_at),
    });
    if list_item {
        v["duration_seconds"] = Value::Null;
        v["audio"] = Value::Null;
        v["mockup_name"] = json!(job.mockup_name);
        v["poster_url"] = Value::Null;
    }
    v
}

/// The owner's job, or the spec's 404.
fn load(env: &dyn Env, caller: &Caller, id: &str) -> Result<(JobRecord, Vec<u8>), ApiError> {
    let not_found = || ApiError::NotFound("Job not found".into());
    if !is_uuid(id) {
        return Err(not_found());
    }
    let (job, raw) = read(env, id)?.ok_or_else(not_found)?;
    if job.account_id != caller.account_id {
        return Err(not_found());
    }
    Ok((job, raw))
}

/// `GET /api/v1/jobs/{id}`.
pub fn get(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    let (job, _) = load(env, caller, id)?;
    Ok(Response::json(200, &job_json(&job, false)))
}

/// `POST /api/v1/jobs/{id}/cancel`: a non-terminal job becomes `cancelled`
/// (409 once terminal). A worker still running it loses its final
/// compare-and-swap and changes nothing.
pub fn cancel(env: &dyn Env, caller: &Caller, id: &str) -> Result<Response, ApiError> {
    // Each lost swap means the job changed meanwhile; a few rounds settle it.
    for _ in 0..16 {
        let (mut job, raw) = load(env, caller, id)?;
        if job.status.is_terminal() {
            return Err(ApiError::Conflict(format!(
                "Job is already {}",
                job.status.as_str()
            )));
        }
        let now = env.now_ms();
        job.status = Status::Cancelled;
        job.updated_at = now;
        job.completed_at = Some(now);
        job.credits_charged = Some(0);
        job.lease_owner = None;
        job.lease_until = None;
        webhooks::note_terminal(env, id)?;
        if swap(env, &raw, &job)?.is_some() {
            list_remove(env, QUEUE, id)?;
            list_remove(env, LEASED, id)?;
            if job.kind == JobKind::Upload {
                mockups::release_upload_blob(env, &job.payload)?;
            }
            release_payload(env, &job)?;
            return Ok(Response::json(200, &job_json(&job, false)));
        }
    }
    Err(ApiError::Conflict("The job is changing; try again".into()))
}

fn index_head_key(account: &str) -> String {
    format!("idx:jobs:{account}:head")
}

fn index_page_key(account: &str, n: u64) -> String {
    format!("idx:jobs:{account}:{n}")
}

/// Adds a job to the head page of its owner's index, opening a new page
/// when the head one is full.
fn index_insert(env: &dyn Env, account: &str, entry: IndexEntry) -> Result<(), ApiError> {
    let store = env.store();
    let head_key = index_head_key(account);
    for _ in 0..64 {
        let raw = store.get(&head_key)?;
        let head: u64 = raw
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(0);
        let mut full = false;
        update_json(
            store,
            &index_page_key(account, head),
            |mut entries: Vec<IndexEntry>| {
                full = entries.len() >= INDEX_PAGE;
                if full {
                    return None;
                }
                entries.insert(0, entry.clone());
                Some(entries)
            },
        )?;
        if !full {
            return Ok(());
        }
        // Of several writers finding the page full, one moves the head.
        store.compare_and_swap(&head_key, raw.as_deref(), &to_bytes(&(head + 1)))?;
    }
    Err(ApiError::Internal("INDEX_CONTENTION".into()))
}

/// A list position: the last entry shown and the index page it is on.
struct Cursor {
    t: u64,
    id: String,
    page: u64,
}

fn encode_cursor(e: &IndexEntry, page: u64) -> String {
    hex(format!("{}|{}|{page}", e.t, e.id).as_bytes())
}

fn decode_cursor(s: &str) -> Option<Cursor> {
    let text = String::from_utf8(unhex(s)?).ok()?;
    let mut parts = text.split('|');
    let (t, id, page) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_uuid(id) {
        return None;
    }
    Some(Cursor {
        t: t.parse().ok()?,
        id: id.to_string(),
        page: page.parse().ok()?,
    })
}

/// `GET /api/v1/jobs?kind=&limit=&cursor=`: newest first, keyset cursor
/// over `(created_at, id)`.
pub fn list(env: &dyn Env, caller: &Caller, req: &Request) -> Result<Response, ApiError> {
    let limit = query_int(req, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)? as usize;
    let kind = match req.query_value("kind") {
        None | Some("") => None,
        Some("render") => Some(JobKind::Render),
        Some("upload") => Some(JobKind::Upload),
        // Video jobs exist in the hosted API; none exist here.
        Some("video") => {
            return Ok(Response::json(
                200,
                &json!({"jobs": [], "next_cursor": null}),
            ))
        }
        Some(_) => {
            return Err(ApiError::field(
                "query -> kind",
                "Input should be 'video', 'render' or 'upload'",
            ))
        }
    };
    let after = match req.query_value("cursor") {
        None | Some("") => None,
        Some(c) => Some(
            decode_cursor(c).ok_or_else(|| ApiError::field("query -> cursor", "Invalid cursor"))?,
        ),
    };
    let store = env.store();
    let head: u64 = get_json(store, &index_head_key(&caller.account_id))?.unwrap_or(0);
    // Concurrent submits can leave entries slightly out of order, also
    // across a page boundary: start one page above the cursor's and read
    // one page past the first that completes the list, then sort.
    let start = after.as_ref().map_or(head, |c| (c.page + 1).min(head));
    let mut found: Vec<(IndexEntry, u64)> = Vec::new();
    let mut margin_read = false;
    for n in (0..=start).rev() {
        let entries: Vec<IndexEntry> =
            get_json(store, &index_page_key(&caller.account_id, n))?.unwrap_or_default();
        found.extend(
            entries
                .into_iter()
                .filter(|e| kind.is_none_or(|k| e.kind == k))
                .filter(|e| {
                    after
                        .as_ref()
                        .is_none_or(|c| (e.t, e.id.as_str()) < (c.t, c.id.as_str()))
                })
                .map(|e| (e, n)),
        );
        if found.len() > limit {
            if margin_read {
                break;
            }
            margin_read = true;
        }
    }
    found.sort_by(|(a, _), (b, _)| (b.t, &b.id).cmp(&(a.t, &a.id)));
    let more = found.len() > limit;
    found.truncate(limit);
    let mut jobs = Vec::new();
    for (e, _) in &found {
        if let Some((job, _)) = read(env, &e.id)? {
            if job.account_id == caller.account_id {
                jobs.push(job_json(&job, true));
            }
        }
    }
    let next_cursor = match (more, found.last()) {
        (true, Some((e, page))) => Value::String(encode_cursor(e, *page)),
        _ => Value::Null,
    };
    Ok(Response::json(
        200,
        &json!({ "jobs": jobs, "next_cursor": next_cursor }),
    ))
}

/// Whether a request carries the worker token stored at
/// `internal:worker-token` (the host writes it at start-up and strips the
/// header from outside requests).
pub fn is_worker(env: &dyn Env, req: &Request) -> Result<bool, ApiError> {
    let Some(given) = req.header_value("x-mockup-worker") else {
        return Ok(false);
    };
    let Some(token) = env.store().get("internal:worker-token")? else {
        return Ok(false);
    };
    // Compare in constant time: the token guards the internal routes.
    let token = token.as_slice();
    let given = given.as_bytes();
    let mut diff = (token.len() != given.len()) as u8;
    for (a, b) in token.iter().zip(given) {
        diff |= a ^ b;
    }
    Ok(!token.is_empty() && diff == 0)
}

/// Sends every `dispatched`/`running` job matching `pred` back to `queued`
/// (or to `failed` once it has been claimed [`MAX_ATTEMPTS`] times).
/// Returns the ids moved.
fn requeue_where(
    env: &dyn Env,
    pred: &dyn Fn(&JobRecord) -> bool,
) -> Result<Vec<String>, ApiError> {
    let leased: Vec<String> = get_json(env.store(), LEASED)?.unwrap_or_default();
    let mut moved = Vec::new();
    for id in leased {
        let Some((job, raw)) = read(env, &id)? else {
            list_remove(env, LEASED, &id)?;
            continue;
        };
        if !matches!(job.status, Status::Dispatched | Status::Running) {
            list_remove(env, LEASED, &id)?;
            continue;
        }
        if !pred(&job) {
            continue;
        }
        let now = env.now_ms();
        let mut next = job.clone();
        next.updated_at = now;
        next.lease_owner = None;
        next.lease_until = None;
        if job.attempts >= MAX_ATTEMPTS {
            next.status = Status::Failed;
            next.error = Some(format!(
                "The job could not be completed after {MAX_ATTEMPTS} attempts"
            ));
            next.credits_charged = Some(0);
            next.completed_at = Some(now);
        } else {
            next.status = Status::Queued;
            next.dispatched_at = None;
            next.started_at = None;
        }
        if next.status.is_terminal() {
            webhooks::note_terminal(env, &id)?;
        }
        // Losing this swap means the job moved on (finished or was
        // cancelled): nothing to requeue.
        if swap(env, &raw, &next)?.is_some() {
            list_remove(env, LEASED, &id)?;
            if next.status == Status::Queued {
                list_push(env, QUEUE, &id)?;
            } else {
                if next.kind == JobKind::Upload {
                    mockups::release_upload_blob(env, &next.payload)?;
                }
                release_payload(env, &next)?;
            }
            moved.push(id);
        }
    }
    Ok(moved)
}

/// Claims the oldest runnable job for `worker_id`: `queued -> dispatched`
/// by compare-and-swap on its record, so of two claimers exactly one wins.
pub fn claim(env: &dyn Env, worker_id: &str) -> Result<Option<(JobRecord, Vec<u8>)>, ApiError> {
    let queue: Vec<String> = get_json(env.store(), QUEUE)?.unwrap_or_default();
    for id in queue {
        let Some((job, raw)) = read(env, &id)? else {
            list_remove(env, QUEUE, &id)?;
            continue;
        };
        if job.status != Status::Queued {
            list_remove(env, QUEUE, &id)?;
            continue;
        }
        let now = env.now_ms();
        let mut next = job;
        next.status = Status::Dispatched;
        next.updated_at = now;
        next.dispatched_at = Some(now);
        next.lease_owner = Some(worker_id.to_string());
        next.lease_until = Some(now.saturating_add(LEASE_MS));
        next.attempts += 1;
        if let Some(bytes) = swap(env, &raw, &next)? {
            // Leased before leaving the queue: a crash in between leaves
            // the job findable by both lists, never by neither.
            list_push(env, LEASED, &id)?;
            list_remove(env, QUEUE, &id)?;
            return Ok(Some((next, bytes)));
        }
    }
    Ok(None)
}

/// What running a job produced.
enum Outcome {
    Render { url: String, blob: String },
    Upload { mockup_uuid: String },
}

fn execute(env: &dyn Env, job: &JobRecord) -> Result<Outcome, String> {
    match job.kind {
        JobKind::Render => {
            renders::run_job(env, job).map(|(url, blob)| Outcome::Render { url, blob })
        }
        JobKind::Upload => mockups::run_upload(env, &job.account_id, &payload(env, job)?)
            .map(|mockup_uuid| Outcome::Upload { mockup_uuid }),
    }
}

/// Undoes the side effects of an outcome whose job was finished elsewhere.
fn discard(env: &dyn Env, job: &JobRecord, outcome: &Outcome) -> Result<(), ApiError> {
    match outcome {
        Outcome::Render { blob, .. } => files::delete(env, blob),
        Outcome::Upload { mockup_uuid } => {
            let rec: Option<mockups::MockupRecord> =
                get_json(env.store(), &format!("mockup:{mockup_uuid}"))?;
            match rec {
                // The winner's mockup may share a directly uploaded blob:
                // only a blob this run fetched itself is deleted.
                Some(r) if r.account_id == job.account_id => {
                    mockups::remove(env, &r, !mockups::uses_stored_blob(&job.payload))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Runs a claimed job to a terminal state. Returns the final status, or
/// `None` when the job was taken away (cancelled or requeued) meanwhile.
pub fn run(env: &dyn Env, job: JobRecord, dispatched: Vec<u8>) -> Result<Option<Status>, ApiError> {
    let now = env.now_ms();
    let mut running = job;
    running.status = Status::Running;
    running.started_at = Some(now);
    running.updated_at = now;
    let Some(running_bytes) = swap(env, &dispatched, &running)? else {
        return Ok(None);
    };
    let result = execute(env, &running);
    let now = env.now_ms();
    let mut done = running.clone();
    done.updated_at = now;
    done.completed_at = Some(now);
    done.lease_owner = None;
    done.lease_until = None;
    match &result {
        Ok(Outcome::Render { url, .. }) => {
            done.status = Status::Succeeded;
            done.result_url = Some(url.clone());
            done.credits_charged = Some(accounts::RENDER_COST);
        }
        Ok(Outcome::Upload { mockup_uuid }) => {
            done.status = Status::Succeeded;
            done.result_url = Some(format!("/library/mockups/{mockup_uuid}"));
            done.mockup_uuid = Some(mockup_uuid.clone());
            done.credits_charged = Some(0);
        }
        Err(e) => {
            done.status = Status::Failed;
            done.error = Some(e.clone());
            done.credits_charged = Some(0);
        }
    }
    // The event goes into the outbox before the terminal write, so a
    // crash between the two cannot lose it.
    webhooks::note_terminal(env, &done.id)?;
    // The terminal write is a CAS from the exact running record written
    // above: if the job was requeued (and perhaps finished elsewhere) or
    // cancelled meanwhile, this late finisher changes nothing.
    if swap(env, &running_bytes, &done)?.is_none() {
        if let Ok(o) = &result {
            discard(env, &running, o)?;
        }
        return Ok(None);
    }
    if done.status == Status::Failed && done.kind == JobKind::Upload {
        // A direct upload that failed leaves no mockup to own its file.
        mockups::release_upload_blob(env, &done.payload)?;
    }
    release_payload(env, &done)?;
    if done.status == Status::Succeeded && done.kind == JobKind::Render {
        // Charged once per job, whoever gets here.
        let marker = format!("charged:{}", done.id);
        if env.store().compare_and_swap(&marker, None, b"1")? {
            accounts::charge(env, &done.account_id, accounts::RENDER_COST)?;
        }
    }
    list_remove(env, LEASED, &done.id)?;
    Ok(Some(done.status))
}

/// `POST /internal/jobs/work`: requeues expired leases, claims one job for
/// the worker named by `x-mockup-worker-id`, runs it, and answers
/// `{"job_id": id | null, "status": ...}`.
pub fn work(env: &dyn Env, req: &Request) -> Result<Response, ApiError> {
    let worker_id = req
        .header_value("x-mockup-worker-id")
        .filter(|w| !w.is_empty())
        .unwrap_or("worker")
        .to_string();
    let now = env.now_ms();
    // The host calls this route regularly, which makes it the place for
    // housekeeping that a store without expiry or scans cannot do itself.
    files::sweep_expired(env)?;
    requeue_where(env, &|j| j.lease_until.is_none_or(|u| u <= now))?;
    let Some((job, bytes)) = claim(env, &worker_id)? else {
        return Ok(Response::json(200, &json!({ "job_id": null })));
    };
    let id = job.id.clone();
    let status = run(env, job, bytes)?;
    Ok(Response::json(
        200,
        &json!({ "job_id": id, "status": status.map(Status::as_str) }),
    ))
}

/// `POST /internal/jobs/requeue` with `{"worker_id": ...}`: every job leased
/// by that worker goes back to `queued`. Answers `{"requeued": [ids]}`.
pub fn requeue(env: &dyn Env, req: &Request) -> Result<Response, ApiError> {
    let body = mockups::parse_json_body(req)?;
    let worker = body
        .get("worker_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::field("body -> worker_id", "Field required"))?
        .to_string();
    let moved = requeue_where(env, &|j| j.lease_owner.as_deref() == Some(worker.as_str()))?;
    Ok(Response::json(200, &json!({ "requeued": moved })))
}
