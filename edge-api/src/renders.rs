//! Renders: `POST /api/v1/renders`, synchronous (the image is made in the
//! request) or asynchronous (`is_async: true`, a job for the worker).
//!
//! A template is parsed once per render from its stored PSD bytes: nothing
//! survives between requests in the component, and the stored form is the
//! cheapest to load.

use crate::accounts::{self, Caller};
use crate::env::Env;
use crate::errors::ApiError;
use crate::files;
use crate::http::{envelope, Request, Response};
use crate::jobs::{self, JobKind, JobRecord};
use crate::mockups::{self, MockupRecord};
use crate::util::uuid_v4;
use compositor::mockup::{self as mk, RenderError, Rendered};
use compositor::request::{parse, MockupUuid, RenderRequest};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Every layer uuid of an inspection's layer tree.
fn layer_uuids(nodes: &Value, out: &mut HashSet<String>) {
    for n in nodes.as_array().into_iter().flatten() {
        if let Some(u) = n["uuid"].as_str() {
            out.insert(u.to_string());
        }
        layer_uuids(&n["children"], out);
    }
}

/// The 400s of the spec, checked against the stored inspection so that an
/// async submit fails at once rather than in the worker.
fn check_uuids(inspect: &Value, req: &RenderRequest) -> Result<(), ApiError> {
    let smart: HashSet<&str> = inspect["smart_objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["uuid"].as_str())
        .collect();
    for so in &req.smart_objects {
        if !smart.contains(so.uuid.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "Smart object {} not found in mockup",
                so.uuid
            )));
        }
    }
    let texts: HashSet<&str> = inspect["text_layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["uuid"].as_str())
        .collect();
    for t in &req.text_layers {
        let uuid = t["uuid"].as_str().unwrap_or("");
        if !texts.contains(uuid) {
            return Err(ApiError::BadRequest(format!(
                "Text layer {uuid} not found in mockup"
            )));
        }
    }
    let mut layers = HashSet::new();
    layer_uuids(&inspect["layers"], &mut layers);
    for h in &req.hidden_layers {
        if !layers.contains(h) {
            return Err(ApiError::BadRequest(format!(
                "Layer {h} not found in mockup"
            )));
        }
    }
    Ok(())
}

/// Maps a compositor failure to the API's status: unknown uuids 400, bad
/// artwork 422, unreachable artwork 502, the rest 500.
fn render_error(req: &RenderRequest, e: RenderError) -> ApiError {
    let text = e.to_string();
    match e {
        RenderError::UnknownSmartObject(_) | RenderError::UnknownLayer(_) => {
            ApiError::BadRequest(text)
        }
        RenderError::BadArtwork { uuid, .. } => {
            let i = req
                .smart_objects
                .iter()
                .position(|s| s.uuid == uuid)
                .unwrap_or(0);
            ApiError::field(&format!("body -> smart_objects -> {i} -> asset"), &text)
        }
        RenderError::Fetch { .. } => ApiError::BadGateway(text),
        RenderError::Compositor(compositor::Error::LimitExceeded { .. }) => {
            ApiError::field("body", &text)
        }
        RenderError::Compositor(_) => ApiError::Internal("INTERNAL_ERROR".into()),
    }
}

/// Milliseconds spent in each step of a synchronous render, sent back as a
/// `Server-Timing` header so users (and our load test) see where the time
/// goes.
#[derive(Debug, Default)]
struct Timings(Vec<(&'static str, u64)>);

impl Timings {
    /// Records the time since `since` under `step`; returns now.
    fn step(&mut self, env: &dyn Env, step: &'static str, since: u64) -> u64 {
        let now = env.now_ms();
        self.0.push((step, now.saturating_sub(since)));
        now
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k};dur={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Renders `req` on a stored mockup and stores the result as a public file.
/// Returns the rendered image's metadata and the file's blob id.
fn render_stored(
    env: &dyn Env,
    mockup: &MockupRecord,
    req: &RenderRequest,
    t: &mut Timings,
) -> Result<(Rendered, String), ApiError> {
    let start = env.now_ms();
    let (_, psd) = files::get(env, &mockup.psd_blob)?
        .ok_or_else(|| ApiError::Internal("TEMPLATE_MISSING".into()))?;
    let limits = compositor::Limits::default();
    let doc = compositor::open(&psd, &limits)
        .map_err(|_| ApiError::Internal("TEMPLATE_UNREADABLE".into()))?;
    drop(psd);
    let at = t.step(env, "template", start);
    let fetch = |url: &str| env.fetch(url);
    let fail = |e| render_error(req, e);
    let decoded = mk::decode(&doc, req, &fetch, &limits).map_err(fail)?;
    let at = t.step(env, "decode", at);
    let placed = mk::place(&doc, req, &decoded, &limits).map_err(fail)?;
    drop(decoded);
    let at = t.step(env, "place", at);
    let image = mk::composite(&doc, req, placed, &limits).map_err(fail)?;
    drop(doc);
    let at = t.step(env, "composite", at);
    let mut rendered = mk::encode(image, req).map_err(|e| fail(RenderError::Compositor(e)))?;
    let at = t.step(env, "encode", at);
    let bytes = std::mem::take(&mut rendered.bytes);
    let blob = files::put(
        env,
        &mockup.account_id,
        &bytes,
        rendered.content_type,
        true,
        Some(files::result_retention_ms(env)),
    )?;
    t.step(env, "store", at);
    Ok((rendered, blob))
}

/// `POST /api/v1/renders`.
pub fn submit(env: &dyn Env, caller: &Caller, http: &Request) -> Result<Response, ApiError> {
    let start = env.now_ms();
    let mut t = Timings::default();
    let body = mockups::parse_json_body(http)?;
    let at = t.step(env, "json", start);
    let req = parse(&body, MockupUuid::Required).map_err(ApiError::Validation)?;
    let webhook = crate::webhooks::request_webhook(&body)?;
    let at = t.step(env, "parse", at);
    let uuid = req.mockup_uuid.clone().unwrap_or_default();
    let mockup = mockups::load(env, caller, &uuid)?;
    let inspect = mockups::inspection(env, &uuid)?;
    check_uuids(&inspect, &req)?;
    accounts::require_credits(env, &caller.account_id, accounts::RENDER_COST)?;
    if req.is_async {
        return jobs::submit(
            env,
            caller,
            JobKind::Render,
            body,
            Some(mockup.name),
            webhook,
        );
    }
    let at = t.step(env, "checks", at);
    let slot = accounts::claim_render_slot(env, caller)?;
    t.step(env, "slot", at);
    let (rendered, blob) = render_stored(env, &mockup, &req, &mut t)?;
    drop(slot);
    accounts::charge(env, &caller.account_id, accounts::RENDER_COST)?;
    let render_uuid = uuid_v4(env);
    let url = files::url(&env.base_url(), &blob, rendered.content_type);
    let so_uuid = req.smart_objects.first().map(|s| s.uuid.clone());
    let mut out = envelope(json!({
        "print_files": [{
            "export_path": url,
            "smart_object_uuid": so_uuid,
            "render_uuid": render_uuid,
            "export_format": files::extension(rendered.content_type),
            "width": rendered.width,
            "height": rendered.height,
        }],
        "render_uuid": render_uuid,
    }));
    let mut warnings: Vec<Value> = rendered
        .warnings
        .iter()
        .map(|w| json!({ "code": w.code, "message": w.message }))
        .collect();
    if !req.text_layers.is_empty() {
        warnings.push(json!({
            "code": "text_layers_not_applied",
            "message": "Text layer edits are not supported yet; text renders as in the template.",
        }));
    }
    if !warnings.is_empty() {
        out["warnings"] = Value::Array(warnings);
    }
    t.step(env, "total", start);
    Ok(Response::json(200, &out).with_header("server-timing", &t.header()))
}

/// Runs a render job. Returns the result URL and its blob id, or the
/// failure to record on the job.
pub fn run_job(env: &dyn Env, job: &JobRecord) -> Result<(String, String), String> {
    let body = jobs::payload(env, job)?;
    let req = parse(&body, MockupUuid::Required).map_err(|e| match e.first() {
        Some(f) => format!("Invalid render request: {}: {}", f.field, f.message),
        None => "Invalid render request".to_string(),
    })?;
    let uuid = req.mockup_uuid.clone().unwrap_or_default();
    let caller = Caller {
        account_id: job.account_id.clone(),
        key_hash: String::new(),
        key: Default::default(),
    };
    let mockup = mockups::load(env, &caller, &uuid).map_err(|e| detail(&e))?;
    let (rendered, blob) =
        render_stored(env, &mockup, &req, &mut Timings::default()).map_err(|e| detail(&e))?;
    Ok((
        files::url(&job.base_url, &blob, rendered.content_type),
        blob,
    ))
}

/// The human-readable message of an error response.
fn detail(e: &ApiError) -> String {
    let body = e.to_response().json_body();
    if let Some(first) = body["errors"].as_array().and_then(|a| a.first()) {
        return first["message"]
            .as_str()
            .unwrap_or("Invalid request")
            .to_string();
    }
    body["detail"]
        .as_str()
        .unwrap_or("Rendering failed")
        .to_string()
}
