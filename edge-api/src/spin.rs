//! The Spin binding: the component's HTTP entry point, and [`Env`] over the
//! interfaces of Spin's platform world (`wasi:keyvalue` store and atomics,
//! `wasi:http` outbound, WASI clocks and randomness). This is the only
//! wasm-specific code; everything else is the plain library.
//!
//! It imports nothing outside Spin's platform world (checked by a test), so
//! the component runs under `spin up` with the `spin.toml` at the root as
//! well as under `mockup serve`.

use crate::env::{Env, Store, StoreError};
use crate::http::{Request, Response};
use spin_sdk::wit::wasi::keyvalue::{atomics, store};

/// Most redirects followed by one fetch.
const MAX_REDIRECTS: usize = 5;
/// Largest body one fetch may return (a PSB template).
const MAX_FETCH_BYTES: usize = 1 << 30;

/// The `default` key-value bucket.
struct SpinStore {
    bucket: store::Bucket,
}

fn store_err(e: store::Error) -> StoreError {
    StoreError(match e {
        store::Error::NoSuchStore => "no such store".into(),
        store::Error::AccessDenied => "access denied".into(),
        store::Error::Other(m) => m,
    })
}

impl Store for SpinStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(key).map_err(store_err)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.bucket.set(key, value).map_err(store_err)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.bucket.delete(key).map_err(store_err)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(store_err)?;
        if cas.current().map_err(store_err)?.as_deref() != expected {
            return Ok(false);
        }
        match atomics::swap(cas, new) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(store_err(e)),
        }
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.bucket, key, delta).map_err(store_err)
    }
}

/// One request's environment.
struct SpinEnv {
    store: SpinStore,
    base_url: String,
}

impl Env for SpinEnv {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let req = spin_sdk::http::Request::get(&url);
            let resp: spin_sdk::http::Response = spin_sdk::http::run(spin_sdk::http::send(req))
                .map_err(|e| match e {
                    spin_sdk::http::SendError::Http(e) => format!("{e:?}"),
                    other => other.to_string(),
                })?;
            let status = *resp.status();
            if (300..400).contains(&status) {
                let Some(location) = resp.header("location").and_then(|v| v.as_str()) else {
                    return Err(format!("HTTP {status} without a Location"));
                };
                url = join_url(&url, location);
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(format!("HTTP {status}"));
            }
            let body = resp.into_body();
            if body.len() > MAX_FETCH_BYTES {
                return Err(format!("larger than {MAX_FETCH_BYTES} bytes"));
            }
            return Ok(body);
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }

    fn post(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String> {
        let mut builder = spin_sdk::http::Request::post(url, body.to_vec());
        for (k, v) in headers {
            builder.header(k.as_str(), v.as_str());
        }
        let req = builder.build();
        let resp: spin_sdk::http::Response = spin_sdk::http::run(spin_sdk::http::send(req))
            .map_err(|e| match e {
                spin_sdk::http::SendError::Http(e) => format!("{e:?}"),
                other => other.to_string(),
            })?;
        Ok(*resp.status())
    }

    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    fn random(&self, buf: &mut [u8]) {
        // wasi:random on wasm32-wasip2; failing here would mean the host
        // cannot make secrets at all, so there is nothing to fall back to.
        getrandom::fill(buf).expect("wasi:random");
    }

    fn base_url(&self) -> String {
        self.base_url.clone()
    }
}

/// Resolves a redirect target against the URL that answered it.
fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    if location.starts_with('/') {
        format!("{}{}", &base[..host_end], location)
    } else {
        let dir_end = base
            .rfind('/')
            .filter(|&i| i >= host_end)
            .unwrap_or(host_end);
        format!("{}/{}", &base[..dir_end], location)
    }
}

/// Largest request body the component reads (a PSB upload); the same
/// bound as `mockup serve`'s, so a platform without its own limit answers
/// 413 rather than growing the instance's memory without end.
const MAX_BODY_BYTES: usize = 1 << 30;
/// Most of a declared `Content-Length` reserved up front: a client's claim
/// alone never reserves more than this.
const MAX_BODY_RESERVE: usize = 64 << 20;
/// Bytes asked for per read once the declared length is read (or when none
/// was declared).
const BODY_READ: u64 = 1 << 20;

/// Why a request body could not be read.
#[derive(Debug)]
enum BodyError {
    /// Over [`MAX_BODY_BYTES`], declared or counted.
    TooLarge,
    /// The stream failed (the client went away).
    Stream,
}

/// Reads the whole request body.
///
/// The reads ask for everything the client declared, so a body the host
/// holds in one piece arrives as one buffer, with no copy; spin-sdk's own
/// conversion reads 16 KiB at a time into a growing vector, which cost
/// 1-2 ms (hundreds of reads and ~3 copies) for a 5 MB render request.
fn read_body(req: &spin_sdk::http::IncomingRequest) -> Result<Vec<u8>, BodyError> {
    let declared = req
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let Ok(body) = req.consume() else {
        return Ok(Vec::new());
    };
    let Ok(stream) = body.stream() else {
        return Ok(Vec::new());
    };
    let mut out: Vec<u8> = Vec::new();
    loop {
        let want = match declared {
            Some(n) if (out.len() as u64) < n => n - out.len() as u64,
            _ => BODY_READ,
        };
        match stream.blocking_read(want.min(MAX_BODY_BYTES as u64 + 1 - out.len() as u64)) {
            Ok(chunk) if out.is_empty() && chunk.len() as u64 == declared.unwrap_or(0) => {
                out = chunk;
            }
            Ok(chunk) => {
                if out.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(BodyError::TooLarge);
                }
                if out.capacity() == 0 {
                    let reserve = declared.unwrap_or(0).min(MAX_BODY_RESERVE as u64) as usize;
                    out.reserve(reserve.max(chunk.len()));
                }
                out.extend_from_slice(&chunk);
            }
            Err(wasi::io::streams::StreamError::Closed) => break,
            Err(wasi::io::streams::StreamError::LastOperationFailed(_)) => {
                return Err(BodyError::Stream)
            }
        }
    }
    // The stream is a child of the body: it goes first.
    drop(stream);
    drop(body);
    Ok(out)
}

#[spin_sdk::http_component]
fn handle(req: spin_sdk::http::IncomingRequest) -> spin_sdk::http::Response {
    let bucket = match store::open("default") {
        Ok(b) => b,
        Err(e) => {
            return spin_sdk::http::Response::new(
                500,
                format!(
                    "{{\"detail\":\"key-value store unavailable: {}\"}}",
                    store_err(e).0
                ),
            )
        }
    };
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), String::from_utf8(v).ok()?)))
        .collect();
    // wasi:http carries the authority on the request, not as a Host header;
    // a proxy in front may say the outside scheme in X-Forwarded-Proto.
    let authority = req
        .authority()
        .filter(|a| !a.is_empty())
        .or_else(|| {
            headers
                .iter()
                .find(|(k, _)| k == "host")
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|| "localhost".to_string());
    let proto = headers
        .iter()
        .find(|(k, _)| k == "x-forwarded-proto")
        .map_or("http", |(_, v)| v.as_str());
    let env = SpinEnv {
        store: SpinStore { bucket },
        base_url: format!("{proto}://{authority}"),
    };
    let path_with_query = req.path_with_query().unwrap_or_else(|| "/".to_string());
    let (path, query) = path_with_query
        .split_once('?')
        .unwrap_or((path_with_query.as_str(), ""));
    let method = method_name(&req.method());
    let resp = match read_body(&req) {
        Ok(body) => crate::handle(
            &env,
            Request {
                method: method.to_string(),
                path: path.to_string(),
                query: crate::http::parse_query(query),
                headers,
                body,
            },
        ),
        Err(BodyError::TooLarge) => crate::with_cors(Response::json(
            413,
            &serde_json::json!({ "detail": "Request body too large" }),
        )),
        Err(BodyError::Stream) => crate::with_cors(Response::json(
            400,
            &serde_json::json!({ "detail": "Could not read the request body" }),
        )),
    };
    let mut builder = spin_sdk::http::Response::builder();
    builder.status(resp.status);
    for (k, v) in &resp.headers {
        builder.header(k.as_str(), v.as_str());
    }
    builder.body(resp.body);
    builder.build()
}

fn method_name(m: &spin_sdk::http::Method) -> &'static str {
    use spin_sdk::http::Method as M;
    match m {
        M::Get => "GET",
        M::Post => "POST",
        M::Put => "PUT",
        M::Patch => "PATCH",
        M::Delete => "DELETE",
        M::Head => "HEAD",
        M::Options => "OPTIONS",
        M::Connect => "CONNECT",
        M::Trace => "TRACE",
        M::Other(_) => "OTHER",
    }
}
