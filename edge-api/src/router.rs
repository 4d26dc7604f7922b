//! Method + path -> handler: every route of the API is listed here.
//!
//! | Method | Path | Auth | Handler |
//! |---|---|---|---|
//! | GET | `/health` | public | `{"status":"ok"}` |
//! | GET, HEAD | `/files/{id}[.ext]` | public (unguessable id) | [`files::serve`] |
//! | GET | `/api/v1/me` | key | [`accounts::me`] |
//! | POST | `/api/v1/psd/upload` | key | [`mockups::upload`] (idempotent) |
//! | GET | `/api/v1/mockups`, `/api/v1/psd-mockups` | key | [`mockups::list`] |
//! | GET, PATCH, DELETE | `/api/v1/{mockups,psd-mockups}/{uuid}` | key | [`mockups::get`], [`mockups::rename`], [`mockups::delete`] |
//! | GET | `/api/v1/{mockups,psd-mockups}/{uuid}/layers` | key | [`mockups::layers`] |
//! | GET | `/api/v1/{mockups,psd-mockups}/{uuid}/psd` | key | [`mockups::template`] |
//! | POST | `/api/v1/renders` | key | [`renders::submit`] (idempotent) |
//! | GET | `/api/v1/jobs` | key | [`jobs::list`] |
//! | GET | `/api/v1/jobs/{uuid}` | key | [`jobs::get`] |
//! | POST | `/api/v1/jobs/{uuid}/cancel` | key | [`jobs::cancel`] |
//! | GET, POST | `/api/v1/webhook-endpoints` | key | [`webhooks::list`], [`webhooks::create`] |
//! | GET | `/api/v1/webhook-endpoints/events` | key | [`webhooks::events`] |
//! | GET, PATCH, DELETE | `/api/v1/webhook-endpoints/{uuid}` | key | [`webhooks::get`], [`webhooks::update`], [`webhooks::delete`] |
//! | POST | `/api/v1/webhook-endpoints/{uuid}/rotate-secret` | key | [`webhooks::rotate_secret`] |
//! | POST | `/api/v1/webhook-endpoints/{uuid}/test` | key | [`webhooks::send_test`] |
//! | GET | `/api/v1/webhook-endpoints/{uuid}/deliveries` | key | [`webhooks::deliveries`] |
//! | POST | `/api/v1/webhook-endpoints/{uuid}/deliveries/{id}/replay` | key | [`webhooks::replay`] |
//! | POST | `/api/v1/webhook-endpoints/{uuid}/deliveries/replay-failed` | key | [`webhooks::replay_failed`] |
//! | GET | `/api/v1/webhook-secret` | key | [`webhooks::get_default_secret`] |
//! | POST | `/api/v1/webhook-secret/rotate` | key | [`webhooks::rotate_default_secret`] |
//! | POST | `/internal/jobs/work` | worker token | [`jobs::work`] |
//! | POST | `/internal/jobs/requeue` | worker token | [`jobs::requeue`] |
//! | POST | `/internal/webhooks/deliver` | worker token | [`webhooks::deliver`] |
//! | POST | `/internal/webhooks/release` | worker token | [`webhooks::release`] |

use crate::accounts::{self, Caller};
use crate::env::Env;
use crate::errors::ApiError;
use crate::http::{Request, Response};
use crate::{files, idempotency, jobs, mockups, renders, webhooks};
use serde_json::json;

/// A matched route.
enum Route<'a> {
    Health,
    File(&'a str),
    Me,
    Upload,
    MockupList,
    Mockup(&'a str),
    MockupLayers(&'a str),
    MockupTemplate(&'a str),
    Renders,
    JobList,
    Job(&'a str),
    JobCancel(&'a str),
    Hooks,
    HookEvents,
    Hook(&'a str),
    HookRotate(&'a str),
    HookTest(&'a str),
    HookDeliveries(&'a str),
    HookReplay(&'a str, &'a str),
    HookReplayFailed(&'a str),
    DefaultSecret,
    DefaultSecretRotate,
    Work,
    Requeue,
    Deliver,
    DeliverRelease,
}

/// Matches a path (method checked separately, so a known path with the
/// wrong method is a 405, not a 404).
fn route(path: &str) -> Option<Route<'_>> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    Some(match segs.as_slice() {
        ["health"] => Route::Health,
        ["files", id] => Route::File(id),
        ["api", "v1", "me"] => Route::Me,
        ["api", "v1", "psd", "upload"] => Route::Upload,
        ["api", "v1", "mockups" | "psd-mockups"] => Route::MockupList,
        ["api", "v1", "mockups" | "psd-mockups", id] => Route::Mockup(id),
        ["api", "v1", "mockups" | "psd-mockups", id, "layers"] => Route::MockupLayers(id),
        ["api", "v1", "mockups" | "psd-mockups", id, "psd"] => Route::MockupTemplate(id),
        ["api", "v1", "renders"] => Route::Renders,
        ["api", "v1", "jobs"] => Route::JobList,
        ["api", "v1", "jobs", id] => Route::Job(id),
        ["api", "v1", "jobs", id, "cancel"] => Route::JobCancel(id),
        ["api", "v1", "webhook-endpoints"] => Route::Hooks,
        ["api", "v1", "webhook-endpoints", "events"] => Route::HookEvents,
        ["api", "v1", "webhook-endpoints", id] => Route::Hook(id),
        ["api", "v1", "webhook-endpoints", id, "rotate-secret"] => Route::HookRotate(id),
        ["api", "v1", "webhook-endpoints", id, "test"] => Route::HookTest(id),
        ["api", "v1", "webhook-endpoints", id, "deliveries"] => Route::HookDeliveries(id),
        ["api", "v1", "webhook-endpoints", id, "deliveries", "replay-failed"] => {
            Route::HookReplayFailed(id)
        }
        ["api", "v1", "webhook-endpoints", id, "deliveries", d, "replay"] => {
            Route::HookReplay(id, d)
        }
        ["api", "v1", "webhook-secret"] => Route::DefaultSecret,
        ["api", "v1", "webhook-secret", "rotate"] => Route::DefaultSecretRotate,
        ["internal", "webhooks", "deliver"] => Route::Deliver,
        ["internal", "webhooks", "release"] => Route::DeliverRelease,
        ["internal", "jobs", "work"] => Route::Work,
        ["internal", "jobs", "requeue"] => Route::Requeue,
        _ => return None,
    })
}

/// Authenticates and rate-limits a request to a keyed route.
fn caller(env: &dyn Env, req: &Request) -> Result<Caller, ApiError> {
    let c = accounts::authenticate(env, req)?;
    accounts::rate_limit(env, &c)?;
    Ok(c)
}

/// Dispatches a request.
pub fn dispatch(env: &dyn Env, req: &Request) -> Result<Response, ApiError> {
    let method = req.method.to_ascii_uppercase();
    let m = method.as_str();
    let Some(r) = route(&req.path) else {
        return Err(ApiError::NoRoute);
    };
    match (r, m) {
        (Route::Health, "GET" | "HEAD") => Ok(Response::json(200, &json!({"status": "ok"}))),
        (Route::File(name), "GET") => files::serve(env, name, false),
        (Route::File(name), "HEAD") => files::serve(env, name, true),
        (Route::Me, "GET") => accounts::me(env, &caller(env, req)?),
        (Route::Upload, "POST") => {
            let c = caller(env, req)?;
            idempotency::run(env, &c, req, || mockups::upload(env, &c, req))
        }
        (Route::MockupList, "GET") => mockups::list(env, &caller(env, req)?, req),
        (Route::Mockup(id), "GET") => mockups::get(env, &caller(env, req)?, id),
        (Route::Mockup(id), "PATCH") => mockups::rename(env, &caller(env, req)?, id, req),
        (Route::Mockup(id), "DELETE") => mockups::delete(env, &caller(env, req)?, id),
        (Route::MockupLayers(id), "GET") => mockups::layers(env, &caller(env, req)?, id),
        (Route::MockupTemplate(id), "GET") => mockups::template(env, &caller(env, req)?, id),
        (Route::Renders, "POST") => {
            let c = caller(env, req)?;
            idempotency::run(env, &c, req, || renders::submit(env, &c, req))
        }
        (Route::JobList, "GET") => jobs::list(env, &caller(env, req)?, req),
        (Route::Job(id), "GET") => jobs::get(env, &caller(env, req)?, id),
        (Route::JobCancel(id), "POST") => jobs::cancel(env, &caller(env, req)?, id),
        (Route::Hooks, "GET") => webhooks::list(env, &caller(env, req)?),
        (Route::Hooks, "POST") => webhooks::create(env, &caller(env, req)?, req),
        (Route::HookEvents, "GET") => webhooks::events(env, &caller(env, req)?, req),
        (Route::Hook(id), "GET") => webhooks::get(env, &caller(env, req)?, id),
        (Route::Hook(id), "PATCH") => webhooks::update(env, &caller(env, req)?, id, req),
        (Route::Hook(id), "DELETE") => webhooks::delete(env, &caller(env, req)?, id),
        (Route::HookRotate(id), "POST") => {
            webhooks::rotate_secret(env, &caller(env, req)?, id, req)
        }
        (Route::HookTest(id), "POST") => webhooks::send_test(env, &caller(env, req)?, id),
        (Route::HookDeliveries(id), "GET") => webhooks::deliveries(env, &caller(env, req)?, id),
        (Route::HookReplay(id, d), "POST") => webhooks::replay(env, &caller(env, req)?, id, d),
        (Route::HookReplayFailed(id), "POST") => {
            webhooks::replay_failed(env, &caller(env, req)?, id)
        }
        (Route::DefaultSecret, "GET") => webhooks::get_default_secret(env, &caller(env, req)?),
        (Route::DefaultSecretRotate, "POST") => {
            webhooks::rotate_default_secret(env, &caller(env, req)?, req)
        }
        // The internal routes do not exist for anyone without the token.
        (Route::Work | Route::Requeue | Route::Deliver | Route::DeliverRelease, _)
            if !jobs::is_worker(env, req)? =>
        {
            Err(ApiError::NoRoute)
        }
        (Route::Work, "POST") => jobs::work(env, req),
        (Route::Requeue, "POST") => jobs::requeue(env, req),
        (Route::Deliver, "POST") => webhooks::deliver(env, req),
        (Route::DeliverRelease, "POST") => webhooks::release(env, req),
        _ => Err(ApiError::MethodNotAllowed),
    }
}
