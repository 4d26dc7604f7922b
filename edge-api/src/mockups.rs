//! Mockup templates: upload (by URL or as the request body), list, get,
//! rename, delete, layers, and the template file itself.
//!
//! Keys in the store:
//!
//! * `mockup:{uuid}` -> [`MockupRecord`]
//! * `inspect:{uuid}` -> the compositor's inspection JSON (smart objects,
//!   text layers, layer tree). Kept apart from the PSD bytes so that listing
//!   and describing a mockup never loads or parses the template.
//! * `idx:mockups:{account}` -> the account's mockup uuids, newest first
//! * the PSD itself is a private blob ([`crate::files`]).

use crate::accounts::Caller;
use crate::env::{get_json, set_json, update_json, Env};
use crate::errors::ApiError;
use crate::files;
use crate::http::{envelope, Request, Response};
use crate::jobs::{self, JobKind};
use crate::util::{is_uuid, iso8601, uuid_v4};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Default page size of the mockup list.
pub const DEFAULT_LIMIT: u64 = 20;
/// Largest page size of the mockup list.
pub const MAX_LIMIT: u64 = 100;
/// Longest mockup name.
pub const MAX_NAME_CHARS: usize = 255;
/// Width of the preview made at upload (the hosted API's main thumbnail).
pub const THUMBNAIL_WIDTH: u32 = 720;

/// What `mockup:{uuid}` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockupRecord {
    /// UUID.
    pub uuid: String,
    /// Owning account.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Blob id of the PSD/PSB file.
    pub psd_blob: String,
    /// Blob id of the preview (WebP, [`THUMBNAIL_WIDTH`] wide), if one
    /// could be made.
    #[serde(default)]
    pub thumbnail_blob: Option<String>,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds.
    pub updated_at: u64,
}

/// Where an upload's file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum UploadSource {
    /// Fetched from this URL.
    Url {
        /// The `psd_file_url`.
        url: String,
    },
    /// Sent as the request body and already stored as this blob.
    Blob {
        /// Blob id.
        blob: String,
    },
}

/// What an upload job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPayload {
    /// The file.
    pub source: UploadSource,
    /// The mockup's name.
    pub name: String,
}

/// The owner's mockup, or the spec's 404 (also for another account's).
pub fn load(env: &dyn Env, caller: &Caller, uuid: &str) -> Result<MockupRecord, ApiError> {
    let not_found = || ApiError::NotFound(format!("Mockup not found: {uuid}"));
    if !is_uuid(uuid) {
        return Err(not_found());
    }
    let rec: MockupRecord =
        get_json(env.store(), &format!("mockup:{uuid}"))?.ok_or_else(not_found)?;
    if rec.account_id != caller.account_id {
        return Err(not_found());
    }
    Ok(rec)
}

/// The stored inspection of a mockup (`Null` if missing).
pub fn inspection(env: &dyn Env, uuid: &str) -> Result<Value, ApiError> {
    Ok(get_json(env.store(), &format!("inspect:{uuid}"))?.unwrap_or(Value::Null))
}

/// Parses a template and stores it as a new mockup of `account_id`.
/// `field` names the request field a bad file is reported against.
/// Returns the record and the template's inspection.
pub fn create(
    env: &dyn Env,
    account_id: &str,
    name: &str,
    bytes: &[u8],
    existing_blob: Option<&str>,
    field: &str,
) -> Result<(MockupRecord, Value), ApiError> {
    let limits = compositor::Limits::default();
    let doc = compositor::open(bytes, &limits)
        .map_err(|e| ApiError::field(field, &format!("Could not read the PSD file: {e}")))?;
    let inspect = serde_json::to_value(compositor::inspect::inspect(&doc))
        .map_err(|_| ApiError::Internal("INSPECT_FAILED".into()))?;
    let thumbnail_blob = match thumbnail(&doc, &limits) {
        Some(webp) => Some(files::put(
            env,
            account_id,
            &webp,
            "image/webp",
            true,
            None,
        )?),
        None => None,
    };
    drop(doc);
    let psd_blob = match existing_blob {
        Some(b) => b.to_string(),
        None => files::put(
            env,
            account_id,
            bytes,
            "image/vnd.adobe.photoshop",
            false,
            None,
        )?,
    };
    let now = env.now_ms();
    let rec = MockupRecord {
        uuid: uuid_v4(env),
        account_id: account_id.to_string(),
        name: name.to_string(),
        width: inspect["width"].as_u64().unwrap_or(0) as u32,
        height: inspect["height"].as_u64().unwrap_or(0) as u32,
        psd_blob,
        thumbnail_blob,
        created_at: now,
        updated_at: now,
    };
    let store = env.store();
    set_json(store, &format!("inspect:{}", rec.uuid), &inspect)?;
    set_json(store, &format!("mockup:{}", rec.uuid), &rec)?;
    update_json(
        store,
        &format!("idx:mockups:{account_id}"),
        |mut ids: Vec<String>| {
            ids.insert(0, rec.uuid.clone());
            Some(ids)
        },
    )?;
    Ok((rec, inspect))
}

/// Removes a mockup, its inspection and (with `delete_blob`) its PSD.
pub fn remove(env: &dyn Env, rec: &MockupRecord, delete_blob: bool) -> Result<(), ApiError> {
    let store = env.store();
    // The record goes first: from then on every route answers 404.
    store.delete(&format!("mockup:{}", rec.uuid))?;
    update_json(
        store,
        &format!("idx:mockups:{}", rec.account_id),
        |mut ids: Vec<String>| {
            let before = ids.len();
            ids.retain(|u| *u != rec.uuid);
            (ids.len() != before).then_some(ids)
        },
    )?;
    store.delete(&format!("inspect:{}", rec.uuid))?;
    if delete_blob {
        files::delete(env, &rec.psd_blob)?;
    }
    if let Some(t) = &rec.thumbnail_blob {
        files::delete(env, t)?;
    }
    Ok(())
}

/// The template as saved, re-composited and encoded as a WebP preview at
/// most [`THUMBNAIL_WIDTH`] wide. `None` when it cannot be rendered: the
/// mockup is still usable, its `thumbnail` is then empty (as the hosted API
/// reports a failed preview).
fn thumbnail(doc: &compositor::Document, limits: &compositor::Limits) -> Option<Vec<u8>> {
    use compositor::request::{ExportOptions, ImageFormat, ImageSize, RenderRequest};
    let req = RenderRequest {
        mockup_uuid: None,
        smart_objects: Vec::new(),
        text_layers: Vec::new(),
        hidden_layers: Vec::new(),
        export_options: ExportOptions {
            image_format: ImageFormat::Webp,
            image_size: ImageSize::Width(doc.width.clamp(1, THUMBNAIL_WIDTH)),
            quality: 80,
            dpi: None,
        },
        export_label: None,
        is_async: false,
    };
    let no_fetch = |_: &str| Err("no artwork in a preview".to_string());
    compositor::mockup::render(doc, &req, &no_fetch, limits)
        .ok()
        .map(|r| r.bytes)
}

/// Whether an upload job's file was stored at submit (a direct upload).
pub fn uses_stored_blob(payload: &Value) -> bool {
    serde_json::from_value::<UploadPayload>(payload.clone())
        .is_ok_and(|p| matches!(p.source, UploadSource::Blob { .. }))
}

/// Deletes the stored file of a direct upload job that will never become
/// a mockup (failed or cancelled).
pub fn release_upload_blob(env: &dyn Env, payload: &Value) -> Result<(), ApiError> {
    if let Ok(UploadPayload {
        source: UploadSource::Blob { blob },
        ..
    }) = serde_json::from_value(payload.clone())
    {
        files::delete(env, &blob)?;
    }
    Ok(())
}

/// The mockup object of the API (`Mockup` in the SDK); `base_url` makes
/// the thumbnail's URL.
pub fn mockup_json(rec: &MockupRecord, inspect: &Value, base_url: &str) -> Value {
    let list = |k: &str| inspect[k].as_array().cloned().unwrap_or_default();
    let smart_objects: Vec<Value> = list("smart_objects")
        .into_iter()
        .map(|so| {
            json!({
                "uuid": so["uuid"],
                "name": so["name"],
                "size": so["size"],
                "position": so["position"],
                "transform": so["transform"],
                "quad": so["quad"],
                "visible": so["visible"],
                "contents_id": so["contents_id"],
                "smart_objects": [],
                "text_layers": [],
            })
        })
        .collect();
    let text_layers: Vec<Value> = list("text_layers")
        .into_iter()
        .map(|t| {
            json!({
                "uuid": t["uuid"],
                "name": t["name"],
                "text_content": t["text"],
                "font_postscript_name": t["font"],
                "font_size": t["size"],
                "color": t["color"],
                "visible": t["visible"],
                "position": t["position"],
                "is_editable": false,
                "segment_count": 1,
            })
        })
        .collect();
    let thumbnail = rec
        .thumbnail_blob
        .as_ref()
        .map(|t| files::url(base_url, t, "image/webp"));
    json!({
        "uuid": rec.uuid,
        "name": rec.name,
        "width": rec.width,
        "height": rec.height,
        "thumbnail": thumbnail.clone().unwrap_or_default(),
        "thumbnail_url": thumbnail,
        "smart_objects": smart_objects,
        "text_layers": text_layers,
        "created_at": iso8601(rec.created_at),
        "updated_at": iso8601(rec.updated_at),
    })
}

/// The template's warnings as the API's `{code, message}` list.
fn warnings(inspect: &Value) -> Vec<Value> {
    inspect["warnings"]
        .as_array()
        .map(|ws| {
            ws.iter()
                .map(|w| json!({ "code": w["code"], "message": w["message"] }))
                .collect()
        })
        .unwrap_or_default()
}

/// `{success, data: mockup, warnings?}`.
fn mockup_response(mockup: Value, inspect: &Value) -> Response {
    let mut body = envelope(mockup);
    let w = warnings(inspect);
    if !w.is_empty() {
        body["warnings"] = Value::Array(w);
    }
    Response::json(200, &body)
}

/// A name from the last path segment of a URL, without its extension.
fn name_from_url(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    let stem = last.rsplit_once('.').map_or(last, |(s, _)| s);
    if stem.is_empty() {
        "Untitled mockup".into()
    } else {
        stem.chars().take(MAX_NAME_CHARS).collect()
    }
}

/// Validates an optional name field.
fn check_name(field: &str, v: Option<&Value>) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let n = s.trim().chars().count();
            if n == 0 {
                Err(ApiError::field(
                    field,
                    "String should have at least 1 character",
                ))
            } else if n > MAX_NAME_CHARS {
                Err(ApiError::field(
                    field,
                    "String should have at most 255 characters",
                ))
            } else {
                Ok(Some(s.trim().to_string()))
            }
        }
        Some(_) => Err(ApiError::field(field, "Input should be a valid string")),
    }
}

/// Whether a body is a raw template rather than JSON: by its media type,
/// or by the PSD signature (`curl --data-binary` sends a form type).
fn is_direct_upload(req: &Request) -> bool {
    req.body.starts_with(b"8BPS")
        || matches!(
            req.content_type().as_str(),
            "application/octet-stream"
                | "image/vnd.adobe.photoshop"
                | "application/x-photoshop"
                | "application/photoshop"
                | "image/x-photoshop"
                | "image/psd"
        )
}

/// `POST /api/v1/psd/upload`: JSON `{psd_file_url, psd_name?, is_async?}`,
/// or the file itself as the body (`?name=`, `?is_async=true`).
pub fn upload(env: &dyn Env, caller: &Caller, req: &Request) -> Result<Response, ApiError> {
    if is_direct_upload(req) {
        if req.body.is_empty() {
            return Err(ApiError::field("body", "The file is empty"));
        }
        let name = match req.query_value("name") {
            Some(n) => {
                check_name("query -> name", Some(&Value::String(n.into())))?.unwrap_or_default()
            }
            None => "Untitled mockup".into(),
        };
        let is_async = match req.query_value("is_async") {
            None => false,
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(_) => {
                return Err(ApiError::field(
                    "query -> is_async",
                    "Input should be a valid boolean",
                ))
            }
        };
        let webhook = match req.query_value("webhook_url") {
            Some(u) => Some(crate::webhooks::check_url(
                "query -> webhook_url",
                Some(&Value::String(u.into())),
            )?),
            None => None,
        };
        if is_async {
            // The worker reads the file from the store: keep it as the
            // (private) blob the mockup will use.
            let blob = files::put(
                env,
                &caller.account_id,
                &req.body,
                "image/vnd.adobe.photoshop",
                false,
                None,
            )?;
            return submit_upload(env, caller, UploadSource::Blob { blob }, name, webhook);
        }
        let (rec, inspect) = create(env, &caller.account_id, &name, &req.body, None, "body")?;
        return Ok(mockup_response(
            mockup_json(&rec, &inspect, &env.base_url()),
            &inspect,
        ));
    }

    let body = parse_json_body(req)?;
    let url = match body.get("psd_file_url") {
        None | Some(Value::Null) => {
            return Err(ApiError::field("body -> psd_file_url", "Field required"))
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => {
            return Err(ApiError::field(
                "body -> psd_file_url",
                "Input should be a valid string",
            ))
        }
    };
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(ApiError::field(
            "body -> psd_file_url",
            "URL must start with http:// or https://",
        ));
    }
    let name = check_name("body -> psd_name", body.get("psd_name"))?
        .unwrap_or_else(|| name_from_url(&url));
    let is_async = match body.get("is_async") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::field(
                "body -> is_async",
                "Input should be a valid boolean",
            ))
        }
    };
    let webhook = crate::webhooks::request_webhook(&body)?;
    if is_async {
        return submit_upload(env, caller, UploadSource::Url { url }, name, webhook);
    }
    let bytes = env
        .fetch(&url)
        .map_err(|e| ApiError::BadGateway(format!("Could not download the PSD file: {e}")))?;
    let (rec, inspect) = create(
        env,
        &caller.account_id,
        &name,
        &bytes,
        None,
        "body -> psd_file_url",
    )?;
    Ok(mockup_response(
        mockup_json(&rec, &inspect, &env.base_url()),
        &inspect,
    ))
}

/// Runs an upload job: fetches or loads the file and creates the mockup.
/// Returns the new mockup's uuid, or the failure to record on the job.
pub fn run_upload(env: &dyn Env, account_id: &str, payload: &Value) -> Result<String, String> {
    let p: UploadPayload =
        serde_json::from_value(payload.clone()).map_err(|_| "Malformed upload job".to_string())?;
    let (bytes, blob) = match &p.source {
        UploadSource::Url { url } => (
            env.fetch(url)
                .map_err(|e| format!("Could not download the PSD file: {e}"))?,
            None,
        ),
        UploadSource::Blob { blob } => (
            files::get(env, blob)
                .map_err(|e| e.to_string())?
                .ok_or("The uploaded file is no longer available")?
                .1,
            Some(blob.as_str()),
        ),
    };
    match create(env, account_id, &p.name, &bytes, blob, "body") {
        Ok((rec, _)) => Ok(rec.uuid),
        Err(ApiError::Validation(errs)) => Err(errs
            .first()
            .map_or("The file is not a valid PSD".into(), |e| e.message.clone())),
        Err(e) => Err(e.to_string()),
    }
}

/// Queues an upload job for `source`, named `name`.
fn submit_upload(
    env: &dyn Env,
    caller: &Caller,
    source: UploadSource,
    name: String,
    webhook: Option<String>,
) -> Result<Response, ApiError> {
    let payload = UploadPayload {
        source,
        name: name.clone(),
    };
    jobs::submit(
        env,
        caller,
        JobKind::Upload,
        json!(payload),
        Some(name),
        webhook,
    )
}

/// Parses a JSON request body or answers the 422 FastAPI gives.
pub fn parse_json_body(req: &Request) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|_| ApiError::field("body", "JSON decode error"))?;
    if !v.is_object() {
        return Err(ApiError::field(
            "body",
            "Input should be a valid dictionary",
        ));
    }
    Ok(v)
}

/// Parses an optional integer query parameter within `min..=max`.
pub fn query_int(
    req: &Request,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ApiError> {
    let field = format!("query -> {name}");
    match req.query_value(name) {
        None | Some("") => Ok(default),
        Some(s) => match s.parse::<i64>() {
            Ok(v) if v < min as i64 => Err(ApiError::field(
                &field,
                &format!("Input should be greater than or equal to {min}"),
            )),
            Ok(v) if v as u64 > max => Err(ApiError::field(
                &field,
                &format!("Input should be less than or equal to {max}"),
            )),
            Ok(v) => Ok(v as u64),
            Err(_) => Err(ApiError::field(&field, "Input should be a valid integer")),
        },
    }
}

/// `GET /api/v1/mockups` (also `/psd-mockups`): the account's mockups,
/// `limit` (1..100) from `offset`, newest first by default. Filters, as the
/// SDK sends them: `name` (case-insensitive substring), `created_after` and
/// `created_before` (ISO 8601), `sort` (`created_at` | `updated_at` |
/// `name`) and `order` (`desc` | `asc`). `total` counts the matches.
pub fn list(env: &dyn Env, caller: &Caller, req: &Request) -> Result<Response, ApiError> {
    let limit = query_int(req, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let offset = query_int(req, "offset", 0, 0, u32::MAX as u64)?;
    let text = |name: &str| req.query_value(name).filter(|v| !v.is_empty());
    let date = |name: &str| -> Result<Option<u64>, ApiError> {
        match text(name) {
            None => Ok(None),
            Some(v) => crate::util::parse_iso8601(v).map(Some).ok_or_else(|| {
                ApiError::field(
                    &format!("query -> {name}"),
                    "Input should be a valid ISO 8601 date or datetime",
                )
            }),
        }
    };
    let after = date("created_after")?;
    let before = date("created_before")?;
    let name = text("name").map(str::to_lowercase);
    let sort = match text("sort") {
        None | Some("created_at") => "created_at",
        Some("updated_at") => "updated_at",
        Some("name") => "name",
        Some(_) => {
            return Err(ApiError::field(
                "query -> sort",
                "Input should be 'name', 'created_at' or 'updated_at'",
            ))
        }
    };
    let ascending = match text("order") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => {
            return Err(ApiError::field(
                "query -> order",
                "Input should be 'asc' or 'desc'",
            ))
        }
    };
    let ids: Vec<String> =
        get_json(env.store(), &format!("idx:mockups:{}", caller.account_id))?.unwrap_or_default();
    let filtered = name.is_some() || after.is_some() || before.is_some();
    let load = |id: &String| -> Result<Option<MockupRecord>, ApiError> {
        // An index entry whose record is gone (a delete in flight) is skipped.
        Ok(
            get_json::<MockupRecord>(env.store(), &format!("mockup:{id}"))?
                .filter(|r| r.account_id == caller.account_id),
        )
    };
    let (page, total): (Vec<MockupRecord>, usize) = if !filtered && sort == "created_at" {
        // The index is already newest first: read only the page.
        let ordered: Box<dyn Iterator<Item = &String>> = if ascending {
            Box::new(ids.iter().rev())
        } else {
            Box::new(ids.iter())
        };
        let mut page = Vec::new();
        for id in ordered.skip(offset as usize).take(limit as usize) {
            page.extend(load(id)?);
        }
        (page, ids.len())
    } else {
        let mut all = Vec::new();
        for id in &ids {
            if let Some(r) = load(id)? {
                let keep = name
                    .as_deref()
                    .is_none_or(|n| r.name.to_lowercase().contains(n))
                    && after.is_none_or(|t| r.created_at >= t)
                    && before.is_none_or(|t| r.created_at <= t);
                if keep {
                    all.push(r);
                }
            }
        }
        match sort {
            "name" => all.sort_by(|a, b| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then(a.created_at.cmp(&b.created_at))
            }),
            "updated_at" => all.sort_by_key(|r| r.updated_at),
            _ => all.sort_by_key(|r| r.created_at),
        }
        // Newest (or last by name) first unless asked otherwise.
        if !ascending {
            all.reverse();
        }
        let total = all.len();
        let page = all
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        (page, total)
    };
    let mut mockups = Vec::with_capacity(page.len());
    for rec in &page {
        let inspect = inspection(env, &rec.uuid)?;
        mockups.push(mockup_json(rec, &inspect, &env.base_url()));
    }
    let data = json!({
        "mockups": mockups,
        "total": total,
        "limit": limit,
        "offset": offset,
    });
    Ok(Response::json(200, &envelope(data)))
}

/// `GET /api/v1/mockups/{uuid}`.
pub fn get(env: &dyn Env, caller: &Caller, uuid: &str) -> Result<Response, ApiError> {
    let rec = load(env, caller, uuid)?;
    let inspect = inspection(env, uuid)?;
    Ok(mockup_response(
        mockup_json(&rec, &inspect, &env.base_url()),
        &inspect,
    ))
}

/// `PATCH /api/v1/mockups/{uuid}` with `{name}`.
pub fn rename(
    env: &dyn Env,
    caller: &Caller,
    uuid: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    load(env, caller, uuid)?;
    let body = parse_json_body(req)?;
    let name = check_name("body -> name", body.get("name"))?
        .ok_or_else(|| ApiError::field("body -> name", "Field required"))?;
    let now = env.now_ms();
    let key = format!("mockup:{uuid}");
    let mut found = false;
    update_json(env.store(), &key, |rec: Option<MockupRecord>| {
        let mut rec = rec?;
        found = true;
        rec.name = name.clone();
        rec.updated_at = now;
        Some(Some(rec))
    })?;
    if !found {
        return Err(ApiError::NotFound(format!("Mockup not found: {uuid}")));
    }
    get(env, caller, uuid)
}

/// `DELETE /api/v1/mockups/{uuid}`.
pub fn delete(env: &dyn Env, caller: &Caller, uuid: &str) -> Result<Response, ApiError> {
    let rec = load(env, caller, uuid)?;
    remove(env, &rec, true)?;
    Ok(Response::json(
        200,
        &envelope(json!({ "uuid": uuid, "deleted": true })),
    ))
}

/// `GET /api/v1/mockups/{uuid}/layers`: `{mockup_uuid, layers}`.
pub fn layers(env: &dyn Env, caller: &Caller, uuid: &str) -> Result<Response, ApiError> {
    load(env, caller, uuid)?;
    let inspect = inspection(env, uuid)?;
    let data = json!({
        "mockup_uuid": uuid,
        "layers": inspect["layers"].as_array().cloned().unwrap_or_default(),
    });
    Ok(Response::json(200, &envelope(data)))
}

/// `GET /api/v1/mockups/{uuid}/psd`: the template file as uploaded, for
/// clients that render previews themselves (the web demo). Owner-scoped
/// like every mockup route: another account's mockup is a 404.
pub fn template(env: &dyn Env, caller: &Caller, uuid: &str) -> Result<Response, ApiError> {
    let rec = load(env, caller, uuid)?;
    let (_, bytes) = files::get(env, &rec.psd_blob)?
        .ok_or_else(|| ApiError::NotFound(format!("Mockup not found: {uuid}")))?;
    let ext = if bytes.get(4..6) == Some(&[0, 2]) {
        "psb"
    } else {
        "psd"
    };
    Ok(Response::bytes(200, "image/vnd.adobe.photoshop", bytes)
        .with_header(
            "content-disposition",
            &format!("attachment; filename=\"{uuid}.{ext}\""),
        )
        .with_header("cache-control", "private, max-age=3600"))
}
