//! The test environment shared by the API's integration tests: a
//! `MemoryStore`, a fake clock, a deterministic random source, a fake
//! fetcher and a recording webhook sender.
#![allow(dead_code)]

use edge_api::{handle, Env, MemoryStore, Request, Response, Store};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

pub const BASE: &str = "http://api.test";
pub const PSD_URL: &str = "https://templates.test/small-mockup.psd";
pub const ART_URL: &str = "https://art.test/design.png";
pub const WORKER_TOKEN: &str = "worker-secret-token";

pub type Hook = Box<dyn Fn(&TestEnv)>;

pub struct TestEnv {
    pub store: MemoryStore,
    pub now: Cell<u64>,
    pub rng: Cell<u64>,
    pub files: RefCell<HashMap<String, Vec<u8>>>,
    pub fetches: Cell<u32>,
    /// Runs once, inside the next fetch of ART_URL (to interleave work).
    pub on_fetch: RefCell<Option<Hook>>,
    /// Every webhook POST made, in order.
    pub posts: RefCell<Vec<Posted>>,
    /// What the next POSTs answer, in order (200 once exhausted).
    pub post_replies: RefCell<VecDeque<Result<u16, String>>>,
    /// The next POST panics instead (a host dying mid-send).
    pub crash_on_post: Cell<bool>,
}

/// One outbound POST the API made.
#[derive(Debug, Clone)]
pub struct Posted {
    /// Target URL.
    pub url: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Posted {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Env for TestEnv {
    fn store(&self) -> &dyn Store {
        &self.store
    }
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        self.fetches.set(self.fetches.get() + 1);
        if url == ART_URL {
            let hook = self.on_fetch.borrow_mut().take();
            if let Some(h) = hook {
                h(self);
            }
        }
        self.files
            .borrow()
            .get(url)
            .cloned()
            .ok_or_else(|| "upstream returned HTTP 404".to_string())
    }
    fn post(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Result<u16, String> {
        if self.crash_on_post.replace(false) {
            panic!("host died while sending");
        }
        self.posts.borrow_mut().push(Posted {
            url: url.to_string(),
            headers: headers.to_vec(),
            body: body.to_vec(),
        });
        self.post_replies
            .borrow_mut()
            .pop_front()
            .unwrap_or(Ok(200))
    }
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn random(&self, buf: &mut [u8]) {
        // xorshift64*: deterministic, good enough to make distinct ids.
        for b in buf {
            let mut x = self.rng.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.set(x);
            *b = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
        }
    }
    fn base_url(&self) -> String {
        BASE.into()
    }
}

pub fn fixture() -> Vec<u8> {
    std::fs::read("../fixtures/small-mockup.psd").expect("fixtures/small-mockup.psd")
}

pub fn art_png() -> Vec<u8> {
    let (w, h) = (32u32, 24u32);
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            rgba.extend_from_slice(&[(x * 8) as u8, (y * 10) as u8, 200, 255]);
        }
    }
    compositor::encode::png_rgba8(&rgba, w, h).unwrap()
}

pub fn env() -> TestEnv {
    let e = TestEnv {
        store: MemoryStore::new(),
        // 2026-06-22T10:00:00Z
        now: Cell::new(1_782_122_400_000),
        rng: Cell::new(0x9e37_79b9_7f4a_7c15),
        files: RefCell::new(HashMap::new()),
        fetches: Cell::new(0),
        on_fetch: RefCell::new(None),
        posts: RefCell::new(Vec::new()),
        post_replies: RefCell::new(VecDeque::new()),
        crash_on_post: Cell::new(false),
    };
    e.files.borrow_mut().insert(PSD_URL.into(), fixture());
    e.files.borrow_mut().insert(ART_URL.into(), art_png());
    e.files.borrow_mut().insert(
        "https://templates.test/not-a-psd.psd".into(),
        b"hello".to_vec(),
    );
    e.store
        .set("internal:worker-token", WORKER_TOKEN.as_bytes())
        .unwrap();
    e
}

impl TestEnv {
    pub fn advance(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

pub fn get(env: &TestEnv, key: &str, path: &str) -> Response {
    handle(env, Request::new("GET", path).header("x-api-key", key))
}

pub fn post(env: &TestEnv, key: &str, path: &str, body: Value) -> Response {
    handle(
        env,
        Request::new("POST", path)
            .header("x-api-key", key)
            .json(&body),
    )
}

pub fn work(env: &TestEnv, worker: &str) -> Value {
    let r = handle(
        env,
        Request::new("POST", "/internal/jobs/work")
            .header("x-mockup-worker", WORKER_TOKEN)
            .header("x-mockup-worker-id", worker),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json_body()
}

pub fn requeue(env: &TestEnv, worker: &str) -> Value {
    let r = handle(
        env,
        Request::new("POST", "/internal/jobs/requeue")
            .header("x-mockup-worker", WORKER_TOKEN)
            .json(&json!({ "worker_id": worker })),
    );
    assert_eq!(r.status, 200);
    r.json_body()
}

pub fn balance(env: &TestEnv, key: &str) -> i64 {
    get(env, key, "/api/v1/me").json_body()["data"]["usage"]["credits_remaining"]
        .as_i64()
        .unwrap()
}

/// Uploads the fixture by URL; returns (mockup uuid, first smart object uuid).
pub fn upload(env: &TestEnv, key: &str) -> (String, String) {
    let r = post(
        env,
        key,
        "/api/v1/psd/upload",
        json!({ "psd_file_url": PSD_URL, "psd_name": "Tee" }),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b = r.json_body();
    assert_eq!(b["success"], true);
    (
        b["data"]["uuid"].as_str().unwrap().to_string(),
        b["data"]["smart_objects"][0]["uuid"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

pub fn render_body(mockup: &str, so: &str) -> Value {
    json!({
        "mockup_uuid": mockup,
        "smart_objects": [{ "uuid": so, "asset": { "url": ART_URL, "fit": "cover" } }],
        "export_options": { "image_format": "png", "image_size": 160 },
    })
}

pub fn assert_error(r: &Response, status: u16, detail: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let b = r.json_body();
    assert_eq!(b["detail"], detail, "{b}");
    assert_eq!(b["success"], false);
}

pub fn assert_422(r: &Response, field: &str) {
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let b = r.json_body();
    assert_eq!(b["detail"], "Validation error");
    assert_eq!(b["success"], false);
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&field), "{fields:?} lacks {field}");
}

/// Number of stored render results (public PNG blobs; the tests render
/// PNG, thumbnails are WebP).
pub fn result_files(e: &TestEnv) -> usize {
    e.store
        .keys_with_prefix("blob:")
        .into_iter()
        .filter(|k| k.matches(':').count() == 1)
        .map(|k| e.store.get(&k).unwrap().unwrap())
        .map(|m| serde_json::from_slice::<Value>(&m).unwrap())
        .filter(|m| m["public"] == true && m["content_type"] == "image/png")
        .count()
}

/// The id of a result file from its URL.
pub fn file_path(url: &str) -> String {
    url.strip_prefix(BASE)
        .expect("result URL on our base")
        .to_string()
}

/// Submits an async render of the fixture; returns the job id.
pub fn submit_async(e: &TestEnv, key: &str, mockup: &str, so: &str) -> String {
    let mut body = render_body(mockup, so);
    body["is_async"] = json!(true);
    let r = post(e, key, "/api/v1/renders", body);
    assert_eq!(r.status, 202);
    r.json_body()["job_id"].as_str().unwrap().to_string()
}

/// The job as its owner polls it.
pub fn job_status(e: &TestEnv, key: &str, id: &str) -> Value {
    get(e, key, &format!("/api/v1/jobs/{id}")).json_body()
}
