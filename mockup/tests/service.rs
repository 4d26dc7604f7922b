//! The service end to end: the real `mockup` binary serving the real
//! component over HTTP, with its SQLite store in a temporary directory (and
//! Redis when `MOCKUP_TEST_REDIS` names a server). A file server on
//! 127.0.0.1 plays the customer's asset host.
//!
//! The component must be built first (`cargo xtask component`;
//! `cargo xtask test` does it).

mod common;

use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Serves `body` for every GET on a free 127.0.0.1 port; returns its URL.
fn file_server(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            });
        }
    });
    format!("http://{addr}/template.psd")
}

/// A minimal HTTP client result.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON (status {}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn request(method: &str, url: &str, key: Option<&str>, body: Option<&Value>) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    let resp = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(url);
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            r.call()
        }
        ("DELETE", _) => {
            let mut r = agent.delete(url);
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            r.call()
        }
        (m, b) => {
            let mut r = match m {
                "PATCH" => agent.patch(url),
                _ => agent.post(url),
            };
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            r.header("content-type", "application/json")
                .send(b.map_or(String::new(), |b| b.to_string()))
        }
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let (status, body) = read_all(resp);
    Reply { status, body }
}

fn chart_png_b64() -> String {
    let (w, h) = (64u32, 48u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % w * 4) as u8, (i / w * 5) as u8, 128, 255])
        .collect();
    let png = compositor::encode::png_rgba8(&rgba, w, h).unwrap();
    compositor::request::encode_base64(&png)
}

fn template() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/small-mockup.psd"
    ))
    .expect("our fixture")
}

/// Polls a job until it is terminal.
fn wait_job(base: &str, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = request("GET", &format!("{base}/api/v1/jobs/{id}"), Some(key), None);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let job = r.json();
        if matches!(
            job["status"].as_str(),
            Some("succeeded" | "failed" | "cancelled")
        ) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never finished: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn upload(base: &str, key: &str, url: &str) -> Value {
    let r = request(
        "POST",
        &format!("{base}/api/v1/psd/upload"),
        Some(key),
        Some(&json!({"psd_file_url": url, "psd_name": "Small mockup"})),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].clone()
}

fn design_uuid(mockup: &Value) -> String {
    mockup["smart_objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Design")
        .expect("the Design smart object")["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The whole journey on one store backend.
fn journey(redis: Option<&str>) {
    let data = TempDir::new("journey");
    let a = create_key(&data.0, redis, "alice", 10);
    let b = create_key(&data.0, redis, "bob", 10);
    // On Redis the host runs as Spin does, a fresh instance per request;
    // on SQLite with warm instances reused (the default).
    let warm = if redis.is_some() { "0" } else { "4" };
    let server = serve(
        &data.0,
        redis,
        &["--allow-outbound", "127.0.0.1/32", "--warm-instances", warm],
    );
    let base = server.base.as_str();

    // Health and auth.
    assert_eq!(
        request("GET", &format!("{base}/health"), None, None).status,
        200
    );
    assert_eq!(
        request("GET", &format!("{base}/api/v1/mockups"), None, None).status,
        401
    );
    assert_eq!(
        request(
            "GET",
            &format!("{base}/api/v1/mockups"),
            Some("sm_wrong"),
            None
        )
        .status,
        401
    );
    // Internal routes are not reachable from outside.
    assert_eq!(
        request(
            "POST",
            &format!("{base}/internal/jobs/work"),
            Some(&a),
            Some(&json!({}))
        )
        .status,
        404
    );

    // Upload by URL from the "customer's" server.
    let url = file_server(template());
    let mockup = upload(base, &a, &url);
    let mockup_uuid = mockup["uuid"].as_str().unwrap().to_string();
    assert_eq!(mockup["width"], 320);
    let design = design_uuid(&mockup);

    // Get, list, layers; and isolation: Bob sees none of it.
    let get = request(
        "GET",
        &format!("{base}/api/v1/mockups/{mockup_uuid}"),
        Some(&a),
        None,
    );
    assert_eq!(get.status, 200);
    let list = request("GET", &format!("{base}/api/v1/mockups"), Some(&a), None).json();
    assert_eq!(list["data"]["total"], 1, "{list}");
    for path in [
        format!("/api/v1/mockups/{mockup_uuid}"),
        format!("/api/v1/psd-mockups/{mockup_uuid}"),
        format!("/api/v1/mockups/{mockup_uuid}/layers"),
    ] {
        assert_eq!(
            request("GET", &format!("{base}{path}"), Some(&b), None).status,
            404,
            "{path}"
        );
    }
    let list_b = request("GET", &format!("{base}/api/v1/mockups"), Some(&b), None).json();
    assert_eq!(list_b["data"]["total"], 0);

    // A synchronous render, served back by the service.
    let render = json!({
        "mockup_uuid": mockup_uuid,
        "smart_objects": [{"uuid": design, "asset": {"base64": chart_png_b64(), "fit": "cover"}}],
        "export_options": {"image_format": "webp", "image_size": 320, "quality": 90}
    });
    let r = request(
        "POST",
        &format!("{base}/api/v1/renders"),
        Some(&a),
        Some(&render),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let out = r.json();
    let file = out["data"]["print_files"][0]["export_path"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        out["data"]["print_files"][0]["smart_object_uuid"],
        design.as_str()
    );
    let img = request("GET", &file, None, None);
    assert_eq!(img.status, 200);
    assert_eq!(&img.body[8..12], b"WEBP", "a WebP file");
    // Bob cannot render Alice's mockup.
    let rb = request(
        "POST",
        &format!("{base}/api/v1/renders"),
        Some(&b),
        Some(&render),
    );
    assert_eq!(rb.status, 404, "{}", String::from_utf8_lossy(&rb.body));

    // Asynchronous: 202 with both ids, then the job succeeds.
    let mut async_req = render.clone();
    async_req["is_async"] = json!(true);
    let r = request(
        "POST",
        &format!("{base}/api/v1/renders"),
        Some(&a),
        Some(&async_req),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let ack = r.json();
    assert_eq!(ack["status"], "queued");
    assert_eq!(ack["kind"], "render");
    assert_eq!(ack["render_uuid"], ack["job_id"]);
    let id = ack["job_id"].as_str().unwrap().to_string();
    let job = wait_job(base, &a, &id);
    assert_eq!(job["status"], "succeeded", "{job}");
    let result = request("GET", job["result_url"].as_str().unwrap(), None, None);
    assert_eq!(&result.body[8..12], b"WEBP");
    assert_eq!(
        request("GET", &format!("{base}/api/v1/jobs/{id}"), Some(&b), None).status,
        404
    );
    let jobs = request(
        "GET",
        &format!("{base}/api/v1/jobs?limit=1"),
        Some(&a),
        None,
    )
    .json();
    assert!(jobs.to_string().contains(&id), "{jobs}");

    // A direct upload sent chunked, with no Content-Length: the component
    // reads the body to its end without a declared size.
    let psd = template();
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "POST /api/v1/psd/upload?name=chunked HTTP/1.1\r\nHost: {addr}\r\nx-api-key: {a}\r\n\
         Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    for chunk in psd.chunks(7000) {
        write!(conn, "{:x}\r\n", chunk.len()).unwrap();
        conn.write_all(chunk).unwrap();
        conn.write_all(b"\r\n").unwrap();
    }
    conn.write_all(b"0\r\n\r\n").unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let uploaded = upload(base, &a, &file_server(template()));
    for field in ["width", "height"] {
        let want = format!("\"{field}\":{}", uploaded[field]);
        assert!(reply.contains(&want), "{want}: {reply}");
    }
    let so_name = uploaded["smart_objects"][0]["name"].to_string();
    assert!(reply.contains(&so_name), "{so_name}: {reply}");
}

#[test]
fn journey_on_sqlite() {
    journey(None);
}

#[test]
fn journey_on_redis() {
    let Ok(url) = std::env::var("MOCKUP_TEST_REDIS") else {
        eprintln!("MOCKUP_TEST_REDIS not set; skipping the Redis journey");
        return;
    };
    journey(Some(&url));
}

/// Without `--allow-outbound`, a loopback URL is refused by the host's
/// policy, and the user gets a clear error, not a 500; a webhook to a
/// loopback receiver is not sent either.
#[test]
fn private_addresses_are_refused() {
    let data = TempDir::new("policy");
    let key = create_key(&data.0, None, "carol", 5);
    let server = serve(&data.0, None, &[]);
    let url = file_server(template());
    let r = request(
        "POST",
        &format!("{}/api/v1/psd/upload", server.base),
        Some(&key),
        Some(&json!({"psd_file_url": url})),
    );
    assert!(
        (400..500).contains(&r.status) || r.status == 502,
        "status {}: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );

    // Webhooks go through the same policy: a receiver on loopback gets no
    // connection, and the delivery log says why.
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    receiver.set_nonblocking(true).unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let ep = request(
        "POST",
        &format!("{}/api/v1/webhook-endpoints", server.base),
        Some(&key),
        Some(&json!({"url": hook, "event_types": []})),
    )
    .json();
    let id = ep["id"].as_str().unwrap();
    let t = request(
        "POST",
        &format!("{}/api/v1/webhook-endpoints/{id}/test", server.base),
        Some(&key),
        Some(&json!({})),
    );
    assert_eq!(t.status, 202);
    let deadline = Instant::now() + Duration::from_secs(120);
    let row = loop {
        let rows = request(
            "GET",
            &format!("{}/api/v1/webhook-endpoints/{id}/deliveries", server.base),
            Some(&key),
            None,
        )
        .json();
        if rows[0]["attempt"].as_u64() >= Some(1) {
            break rows[0].clone();
        }
        assert!(Instant::now() < deadline, "no attempt was made: {rows}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(row["status"], "failed", "{row}");
    assert_eq!(row["http_status"], Value::Null, "{row}");
    assert!(row["last_error"].is_string(), "{row}");
    assert!(
        receiver.accept().is_err(),
        "the webhook reached a loopback address without --allow-outbound"
    );
}

/// Uploads our template and submits `n` async renders big enough (3000 px)
/// that a single worker is still busy when the test stops its host.
fn submit_big_renders(base: &str, key: &str, n: usize) -> Vec<String> {
    let mockup = upload(base, key, &file_server(template()));
    let render = json!({
        "mockup_uuid": mockup["uuid"],
        "is_async": true,
        "smart_objects": [{"uuid": design_uuid(&mockup), "asset": {"base64": chart_png_b64()}}],
        "export_options": {"image_format": "png", "image_size": 3000}
    });
    (0..n)
        .map(|_| {
            let r = request(
                "POST",
                &format!("{base}/api/v1/renders"),
                Some(key),
                Some(&render),
            );
            assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
            r.json()["job_id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Kill -9 with jobs queued and running, start again: every job finishes,
/// once, and is charged once.
#[test]
fn jobs_survive_a_crash() {
    let data = TempDir::new("crash");
    let key = create_key(&data.0, None, "dave", 100);
    let server = serve(
        &data.0,
        None,
        &["--allow-outbound", "127.0.0.1/32", "--workers", "1"],
    );
    let base = server.base.clone();
    let ids = submit_big_renders(&base, &key, 8);
    // Wait until the worker has started, then SIGKILL: no chance to clean up.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let statuses: Vec<String> = ids
            .iter()
            .map(|id| {
                request("GET", &format!("{base}/api/v1/jobs/{id}"), Some(&key), None).json()
                    ["status"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        if statuses.iter().any(|s| s != "queued") {
            assert!(
                statuses.iter().any(|s| s == "queued"),
                "every job finished before the crash: {statuses:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no job started");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server);
    let server = serve(&data.0, None, &["--allow-outbound", "127.0.0.1/32"]);
    for id in &ids {
        let job = wait_job(&server.base, &key, id);
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["credits_charged"], 1, "{job}");
    }
    let me = request(
        "GET",
        &format!("{}/api/v1/me", server.base),
        Some(&key),
        None,
    )
    .json();
    assert_eq!(
        me["data"]["usage"]["credits_remaining"], 92,
        "100 credits minus 8 renders: {me}"
    );
}

/// Two hosts on one Redis store: every job runs once, on one of them, and
/// is charged once.
#[test]
fn two_hosts_share_one_redis() {
    let Ok(redis) = std::env::var("MOCKUP_TEST_REDIS") else {
        eprintln!("MOCKUP_TEST_REDIS not set; skipping");
        return;
    };
    let (d1, d2) = (TempDir::new("host1"), TempDir::new("host2"));
    let key = create_key(&d1.0, Some(&redis), "erin", 100);
    let url = file_server(template());
    let h1 = serve(&d1.0, Some(&redis), &["--allow-outbound", "127.0.0.1/32"]);
    let h2 = serve(&d2.0, Some(&redis), &["--allow-outbound", "127.0.0.1/32"]);
    let mockup = upload(&h1.base, &key, &url);
    let render = json!({
        "mockup_uuid": mockup["uuid"],
        "is_async": true,
        "smart_objects": [{"uuid": design_uuid(&mockup), "asset": {"base64": chart_png_b64()}}],
        "export_options": {"image_format": "png", "image_size": 320}
    });
    let ids: Vec<String> = (0..10)
        .map(|i| {
            let base = if i % 2 == 0 { &h1.base } else { &h2.base };
            let r = request(
                "POST",
                &format!("{base}/api/v1/renders"),
                Some(&key),
                Some(&render),
            );
            assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
            r.json()["job_id"].as_str().unwrap().to_string()
        })
        .collect();
    for id in &ids {
        let job = wait_job(&h2.base, &key, id);
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["credits_charged"], 1, "{job}");
    }
    let me = request("GET", &format!("{}/api/v1/me", h1.base), Some(&key), None).json();
    assert_eq!(me["data"]["usage"]["credits_remaining"], 90, "{me}");
}

/// Whether Python can import the official `sudomock` SDK. When it cannot,
/// SDK tests are skipped (with a note), unless MOCKUP_REQUIRE_SDK=1.
fn sdk_installed() -> bool {
    let has_sdk = Command::new("python3")
        .args(["-c", "import sudomock"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_sdk {
        assert!(
            std::env::var_os("MOCKUP_REQUIRE_SDK").is_none(),
            "MOCKUP_REQUIRE_SDK is set but `import sudomock` fails"
        );
        eprintln!("the sudomock SDK is not installed; skipping (pip install sudomock==0.17.0)");
    }
    has_sdk
}

/// The official `sudomock` Python SDK, unmodified, against the server:
/// `tests/sdk/sudomock_flows.py`. Skipped when the SDK is not installed,
/// unless MOCKUP_REQUIRE_SDK=1 (set by `.ci/run`, which installs it).
#[test]
fn sdk_flows() {
    if !sdk_installed() {
        return;
    }
    let data = TempDir::new("sdk");
    let a = create_key(&data.0, None, "sdk-a", 50);
    let b = create_key(&data.0, None, "sdk-b", 50);
    let server = serve(&data.0, None, &["--allow-outbound", "127.0.0.1/32"]);
    let psd = file_server(template());
    let art = {
        let (w, h) = (64u32, 48u32);
        let rgba: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % w * 4) as u8, 90, 200, 255])
            .collect();
        file_server(compositor::encode::png_rgba8(&rgba, w, h).unwrap())
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/sdk/sudomock_flows.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .env("MOCKUP_BASE", &server.base)
        .env("MOCKUP_KEY", &a)
        .env("MOCKUP_KEY_B", &b)
        .env("MOCKUP_PSD_URL", &psd)
        .env("MOCKUP_ART_URL", &art)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "SDK flows failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("ok: ").count(), 11, "every flow ran");
}

/// SIGTERM: the host stops taking work, finishes or hands back what is
/// running, and exits cleanly; started again, it completes every job.
#[test]
fn sigterm_hands_jobs_back() {
    let data = TempDir::new("term");
    let key = create_key(&data.0, None, "frank", 100);
    let mut server = serve(
        &data.0,
        None,
        &["--allow-outbound", "127.0.0.1/32", "--workers", "1"],
    );
    let ids = submit_big_renders(&server.base.clone(), &key, 5);
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "the host did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    let server = serve(&data.0, None, &["--allow-outbound", "127.0.0.1/32"]);
    for id in &ids {
        let job = wait_job(&server.base, &key, id);
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["credits_charged"], 1, "{job}");
    }
}

/// `mockup render` fetches artwork URLs under the same outbound policy as
/// the service: refused on loopback unless allowed.
#[test]
fn cli_render_fetches_urls_under_the_policy() {
    let dir = TempDir::new("cli");
    let (w, h) = (40u32, 30u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| [200, (i % 255) as u8, 40, 255])
        .collect();
    let art = file_server(compositor::encode::png_rgba8(&rgba, w, h).unwrap());
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/small-mockup.psd");
    let doc = compositor::open(&template(), &compositor::Limits::default()).unwrap();
    let design = doc
        .walk()
        .into_iter()
        .find(|l| l.name == "Design")
        .unwrap()
        .uuid
        .to_string();
    let req = dir.0.join("req.json");
    std::fs::write(
        &req,
        json!({"smart_objects": [{"uuid": design, "asset": {"url": art}}],
               "export_options": {"image_format": "png", "image_size": "original"}})
        .to_string(),
    )
    .unwrap();
    let out = dir.0.join("out.png");
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .arg("render")
            .arg(fixture)
            .arg("--request")
            .arg(&req)
            .arg("-o")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert!(
        !refused.status.success(),
        "loopback fetched without --allow-outbound"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Prohibited"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let allowed = run(&["--allow-outbound", "127.0.0.1/32"]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let png = std::fs::read(&out).unwrap();
    let (px, ..) = compositor::encode::decode_png_rgba8(&png, u64::MAX).unwrap();
    let (plain, _) = compositor::composite_rgba8(&doc, &compositor::Limits::default()).unwrap();
    assert_ne!(px, plain, "the fetched artwork is in the render");
}

/// The receiver's log: one JSON object per delivery received.
fn receiver_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits until the receiver's log satisfies `done`.
fn wait_log(path: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let log = receiver_log(path);
        if done(&log) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen; the receiver got {log:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Webhooks end to end: a real receiver on 127.0.0.1
/// (`tests/sdk/webhook_receiver.py`) checks every delivery with the SDK's
/// own `verify_webhook_signature` and fails the first ones on purpose. The
/// host is killed (-9) in the middle and started again: every event still
/// arrives, signed, at least once; then rotate-secret, test and replay.
#[test]
fn webhooks_reach_a_real_receiver() {
    if !sdk_installed() {
        return;
    }
    let data = TempDir::new("hooks");
    let key = create_key(&data.0, None, "hooks", 50);
    let secrets = data.0.join("receiver-secrets.txt");
    let log = data.0.join("receiver-log.jsonl");
    std::fs::write(&secrets, "").unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/sdk/webhook_receiver.py"
    );
    let mut receiver = Reaped(
        Command::new("python3")
            .arg(script)
            .arg(&secrets)
            .arg(&log)
            .arg("4")
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs"),
    );
    let mut port = String::new();
    BufReader::new(receiver.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let hook = format!("http://127.0.0.1:{}", port.trim());
    let args = [
        "--allow-outbound",
        "127.0.0.1/32",
        "--webhook-retry-base-ms",
        "300",
    ];
    let mut server = serve(&data.0, None, &args);
    let base = server.base.clone();
    let add_secret = |s: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&secrets)
            .unwrap();
        writeln!(f, "{s}").unwrap();
    };

    let ep = request(
        "POST",
        &format!("{base}/api/v1/webhook-endpoints"),
        Some(&key),
        Some(&json!({"url": format!("{hook}/endpoint"), "event_types": ["render.succeeded"]})),
    );
    assert_eq!(ep.status, 201, "{}", String::from_utf8_lossy(&ep.body));
    let ep = ep.json();
    let ep_id = ep["id"].as_str().unwrap().to_string();
    add_secret(ep["secret"].as_str().unwrap());

    let mockup = upload(&base, &key, &file_server(template()));
    let mut jobs = Vec::new();
    for n in 0..3 {
        let mut body = json!({
            "mockup_uuid": mockup["uuid"],
            "is_async": true,
            "smart_objects": [{"uuid": design_uuid(&mockup), "asset": {"base64": chart_png_b64()}}],
            "export_options": {"image_format": "png", "image_size": 320}
        });
        if n == 0 {
            body["webhook"] = json!({"url": format!("{hook}/job")});
        }
        let r = request(
            "POST",
            &format!("{base}/api/v1/renders"),
            Some(&key),
            Some(&body),
        );
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let ack = r.json();
        if n == 0 {
            // The account's default secret, shown in full this once.
            add_secret(ack["webhook"]["secret"].as_str().unwrap());
        }
        jobs.push(ack["job_id"].as_str().unwrap().to_string());
    }

    // The receiver is failing on purpose; kill the host in the middle.
    wait_log(&log, "a first (failed) delivery", |l| !l.is_empty());
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = serve(&data.0, None, &args);
    let base = server.base.clone();

    let arrived = |l: &[Value], path: &str, job: &str| {
        l.iter().any(|d| {
            d["path"] == path
                && d["job_id"] == job
                && d["answered"] == 200
                && d["type"] == "render.succeeded"
        })
    };
    let got = wait_log(&log, "every render.succeeded event", |l| {
        jobs.iter().all(|j| arrived(l, "/endpoint", j)) && arrived(l, "/job", &jobs[0])
    });
    for d in &got {
        assert!(
            d["verified_with"].is_string(),
            "unsigned or badly signed: {d}"
        );
    }
    assert!(
        got.iter().filter(|d| d["answered"] == 500).count() >= 4,
        "the first deliveries failed on purpose and were retried: {got:#?}"
    );
    for j in &jobs {
        assert_eq!(wait_job(&base, &key, j)["status"], "succeeded");
    }
    // The log shows the retries.
    let rows = request(
        "GET",
        &format!("{base}/api/v1/webhook-endpoints/{ep_id}/deliveries"),
        Some(&key),
        None,
    )
    .json();
    let rows = rows.as_array().unwrap().clone();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows.iter().all(|r| r["status"] == "succeeded"), "{rows:#?}");
    assert!(
        rows.iter().any(|r| r["attempt"].as_u64() > Some(1)),
        "{rows:#?}"
    );

    // Rotate: from now on the receiver knows only the new secret.
    let rotated = request(
        "POST",
        &format!("{base}/api/v1/webhook-endpoints/{ep_id}/rotate-secret"),
        Some(&key),
        Some(&json!({})),
    )
    .json();
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    std::fs::write(&secrets, format!("{new_secret}\n")).unwrap();
    let t = request(
        "POST",
        &format!("{base}/api/v1/webhook-endpoints/{ep_id}/test"),
        Some(&key),
        Some(&json!({})),
    );
    assert_eq!(t.status, 202);
    wait_log(&log, "the test event under the new secret", |l| {
        l.iter()
            .any(|d| d["type"] == "webhook.test" && d["verified_with"] == new_secret.as_str())
    });

    // Replay one delivery: the same event arrives again, signed anew.
    let replayed = rows[0]["id"].as_str().unwrap();
    let r = request(
        "POST",
        &format!("{base}/api/v1/webhook-endpoints/{ep_id}/deliveries/{replayed}/replay"),
        Some(&key),
        Some(&json!({})),
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    // Its first arrival was signed with the old secret: one under the new
    // secret is the replay.
    wait_log(&log, "the replayed delivery", |l| {
        l.iter().any(|d| {
            d["delivery"] == replayed
                && d["answered"] == 200
                && d["verified_with"] == new_secret.as_str()
        })
    });
}
