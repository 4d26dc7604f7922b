//! The web demo's static files: `GET /` is the page, `/demo/...` its
//! scripts, styles and the compositor's wasm. Everything else goes to the
//! component.
//!
//! The files come from the directory `cargo xtask web` builds,
//! `<target dir>/web-demo`, found next to this binary's profile directory
//! (`<target dir>/{debug,release}/mockup`), or from `MOCKUP_WEB_DIR`.
//! Without it `GET /` answers a short page saying how to build it.

use bytes::Bytes;
use http_body_util::BodyExt;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Where the built page lives, if anywhere.
fn web_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("MOCKUP_WEB_DIR") {
            return Some(PathBuf::from(d));
        }
        let exe = std::env::current_exe().ok()?;
        let target = exe.parent()?.parent()?;
        let dir = target.join("web-demo");
        dir.join("index.html").is_file().then_some(dir)
    })
    .as_deref()
}

/// The MIME type of a file of the page.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn respond(
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    extra: &[(&'static str, &'static str)],
) -> hyper::Response<HyperOutgoingBody> {
    let body = http_body_util::Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut r = hyper::Response::new(HyperOutgoingBody::new(body));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    let h = r.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        h.insert("content-type", v);
    }
    // Revalidate every time: a rebuilt demo shows at the next load (the
    // offline copy is the service worker's job).
    h.insert("cache-control", http::HeaderValue::from_static("no-cache"));
    h.insert(
        "x-content-type-options",
        http::HeaderValue::from_static("nosniff"),
    );
    for (k, v) in extra {
        h.insert(*k, http::HeaderValue::from_static(v));
    }
    r
}

/// Answers the page's own paths (`/`, `/index.html`, `/demo/...`) for GET
/// and HEAD; `None` hands the request on to the component.
pub fn serve(method: &http::Method, path: &str) -> Option<hyper::Response<HyperOutgoingBody>> {
    if method != http::Method::GET && method != http::Method::HEAD {
        return None;
    }
    let rel = match path {
        "/" | "/index.html" => "index.html",
        p if p.starts_with("/demo/") => &p[1..],
        _ => return None,
    };
    let Some(dir) = web_dir() else {
        if rel == "index.html" {
            let page = "<!doctype html><meta charset=utf-8><title>mockup</title>\
                <p>The web demo is not built. Run <code>cargo xtask web</code> \
                (or start the service with <code>cargo xtask serve</code>).</p>";
            return Some(respond(200, "text/html; charset=utf-8", page.into(), &[]));
        }
        return Some(respond(
            404,
            "application/json",
            br#"{"detail":"Not Found"}"#.to_vec(),
            &[],
        ));
    };
    // Only plain names below the directory: no `..`, no absolute parts.
    let rel = Path::new(rel);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Some(respond(
            404,
            "application/json",
            br#"{"detail":"Not Found"}"#.to_vec(),
            &[],
        ));
    }
    let file = dir.join(rel);
    match std::fs::read(&file) {
        Ok(bytes) => {
            let body = if method == http::Method::HEAD {
                Vec::new()
            } else {
                bytes
            };
            // The service worker may control the whole site (the page is
            // at `/`, the worker under `/demo/`).
            let extra: &[(&'static str, &'static str)] = if rel == Path::new("demo/sw.js") {
                &[("service-worker-allowed", "/")]
            } else {
                &[]
            };
            Some(respond(200, content_type(&file), body, extra))
        }
        Err(_) => Some(respond(
            404,
            "application/json",
            br#"{"detail":"Not Found"}"#.to_vec(),
            &[],
        )),
    }
}
