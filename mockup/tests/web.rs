//! The web demo in a real browser: headless Chromium (Debian's `chromium`
//! and `chromium-driver`), driven over WebDriver by the small client below,
//! against the real `mockup serve` with the real component.
//!
//! One test, one browser (the machine has two cores):
//!
//! 1. the wasm-bindgen tests of the web demo's API (`web-demo/tests/`),
//!    run in the page `cargo xtask test` builds for them;
//! 2. the page itself: a wrong key is refused in words; the key lists the
//!    account's mockups; the fixture template opens from the API; artwork is
//!    dropped on the Design smart object; options change by keyboard, form
//!    controls and by dragging the artwork's handle; the canvas pixels equal
//!    the server's PNG render of the request the page shows; "Render on
//!    server" (sync and async) shows the result; a local PSD opens without
//!    the API; a benchmark times the preview redraw per option change, next
//!    to the native render of the same request.
//!
//! A second test checks the host's static serving itself (the page, the
//! wasm's MIME type, no path escapes, the API still the component's).
//!
//! Screenshots go to `test-output/web/`. Without Chromium the test prints a
//! note and passes, unless `MOCKUP_REQUIRE_BROWSER=1` (CI sets it).

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// WebDriver's key for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn required() -> bool {
    std::env::var("MOCKUP_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Skips (with a note) or fails (when required) for a missing piece.
fn missing(what: &str) {
    if required() {
        panic!("{what} (MOCKUP_REQUIRE_BROWSER=1)");
    }
    eprintln!("note: skipping the browser test: {what}");
}

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target_dir() -> PathBuf {
    PathBuf::from(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// A WebDriver session on a chromedriver we started.
struct Driver {
    url: String,
    session: String,
    _driver: Reaped,
}

impl Driver {
    fn start(chromium: &Path, chromedriver: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let proc = Reaped(child);
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = agent().get(&format!("{url}/status")).call() {
                let (_, body) = read_all(r);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=1440,1200", "--hide-scrollbars"],
            },
        }}});
        let (status, body) = read_all(
            agent()
                .post(&format!("{url}/session"))
                .header("content-type", "application/json")
                .send(caps.to_string())
                .expect("new session"),
        );
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "new session: {v}");
        let session = v["value"]["sessionId"].as_str().unwrap().to_string();
        Driver {
            url,
            session,
            _driver: proc,
        }
    }

    /// One WebDriver command; returns its `value`, panicking on errors.
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.url, self.session);
        let resp = match method {
            "GET" => agent().get(&url).call(),
            "DELETE" => agent().delete(&url).call(),
            _ => agent()
                .post(&url)
                .header("content-type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let (status, bytes) = read_all(resp);
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn exec(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs an async script: its last argument is the callback.
    fn exec_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    fn find(&self, css: &str) -> Value {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        let mut el = serde_json::Map::new();
        el.insert(ELEMENT.into(), v[ELEMENT].clone());
        assert!(el[ELEMENT].is_string(), "no element {css}: {v}");
        Value::Object(el)
    }

    fn id(el: &Value) -> String {
        el[ELEMENT].as_str().unwrap().to_string()
    }

    fn click(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{}/click", Self::id(&el)), None);
    }

    /// Types into an element as a user would (keys go through the page's
    /// keyboard handling).
    fn keys(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{}/value", Self::id(&el)),
            Some(json!({ "text": text })),
        );
    }

    fn clear(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{}/clear", Self::id(&el)), None);
    }

    fn text(&self, css: &str) -> String {
        self.exec(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            json!([css]),
        )
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    /// Polls a script until it returns something truthy.
    fn wait(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let v = self.exec(script, json!([]));
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            if Instant::now() > deadline {
                self.screenshot("timeout");
                panic!(
                    "timed out waiting for {what}; status: {}",
                    self.text("#status")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, name: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = compositor::request::decode_base64(b64.as_str().unwrap()).unwrap();
        let dir = workspace().join("test-output/web");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = agent()
            .delete(&format!("{}/session/{}", self.url, self.session))
            .call();
    }
}

/// A 96x64 artwork: a gradient, a hard-edged stripe and a transparent
/// corner, so fit, rotation, flips and alpha all show in the pixels.
fn artwork_png() -> Vec<u8> {
    let (w, h) = (96u32, 64u32);
    let mut rgba = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let a = if x < 12 && y < 12 { 0 } else { 255 };
            let stripe = if (x / 8) % 3 == 0 { 255 } else { 30 };
            rgba.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, stripe, a]);
        }
    }
    compositor::encode::png_rgba8(&rgba, w, h).unwrap()
}

/// The canvas' pixels: (width, height, RGBA).
fn canvas_pixels(d: &Driver) -> (u32, u32, Vec<u8>) {
    let v = d.exec(
        "const c = document.getElementById('canvas');
         const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
         let s = '';
         for (let i = 0; i < px.length; i += 0x8000) s += String.fromCharCode.apply(null, px.subarray(i, i + 0x8000));
         return [c.width, c.height, btoa(s)];",
        json!([]),
    );
    let px = compositor::request::decode_base64(v[2].as_str().unwrap()).unwrap();
    (
        v[0].as_u64().unwrap() as u32,
        v[1].as_u64().unwrap() as u32,
        px,
    )
}

/// The last frame the worker sent, before it went through the canvas.
fn frame_pixels(d: &Driver) -> Vec<u8> {
    let v = d.exec_async(
        "const done = arguments[arguments.length - 1];
         previewIdle().then((f) => {
           const px = f.pixels;
           let s = '';
           for (let i = 0; i < px.length; i += 0x8000) s += String.fromCharCode.apply(null, px.subarray(i, i + 0x8000));
           done(btoa(s));
         });",
        json!([]),
    );
    compositor::request::decode_base64(v.as_str().unwrap()).unwrap()
}

/// Compares two RGBA buffers: (pixels differing, largest channel
/// difference).
fn diff(a: &[u8], b: &[u8]) -> (usize, u8) {
    assert_eq!(a.len(), b.len(), "sizes differ");
    let mut n = 0;
    let mut max = 0;
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let d = p.iter().zip(q).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        if d > 0 {
            n += 1;
            max = max.max(d);
        }
    }
    (n, max)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[test]
fn web_demo_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (
        which(&["chromium", "chromium-browser"]),
        which(&["chromedriver"]),
    ) else {
        missing(
            "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)",
        );
        return;
    };
    let web = target_dir().join("web-demo");
    if !web.join("index.html").is_file() {
        missing(&format!("{} is not built (cargo xtask web)", web.display()));
        return;
    }
    let data = TempDir::new("web");
    let key = create_key(&data.0, None, "web", 20);
    let host = serve(&data.0, None, &[]);
    let base = host.base.clone();
    let d = Driver::start(&chromium, &chromedriver);

    // 1. The wasm-bindgen tests of the API, in this browser.
    if web.join("demo/wbt/index.html").is_file() {
        d.goto(&format!("{base}/demo/wbt/index.html"));
        let outcome = d.wait(
            "the wasm-bindgen tests",
            "return document.body.dataset.done;",
        );
        let report = d.text("#output");
        println!("wasm-bindgen tests in Chromium:\n{report}");
        d.screenshot("00-wasm-bindgen-tests");
        assert_eq!(
            outcome,
            "pass",
            "wasm-bindgen tests: {report}\n{}",
            d.text("#console")
        );
        let count: usize = d
            .exec("return document.body.dataset.count;", json!([]))
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(count >= 5, "only {count} wasm-bindgen tests ran");
        assert!(
            report.contains(&format!("test result: ok. {count} passed")),
            "{report}"
        );
    } else {
        missing("the wasm-bindgen tests are not built (cargo xtask test builds them)");
    }

    // The template, uploaded to the account through the API.
    let psd = std::fs::read(workspace().join("fixtures/small-mockup.psd")).unwrap();
    let (status, body) = read_all(
        agent()
            .post(&format!("{base}/api/v1/psd/upload?name=Small%20mockup"))
            .header("x-api-key", &key)
            .header("content-type", "application/octet-stream")
            .send(&psd[..])
            .unwrap(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let mockup: Value = serde_json::from_slice::<Value>(&body).unwrap()["data"].clone();
    let mockup_uuid = mockup["uuid"].as_str().unwrap().to_string();
    let badge = mockup["smart_objects"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(mockup["smart_objects"][0]["name"], "Badge");
    let design = mockup["smart_objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Design")
        .unwrap()["uuid"]
        .as_str()
        .unwrap()
        .to_string();

    // 2. The page, served at `/`.
    d.goto(&format!("{base}/"));
    d.wait(
        "the compositor to load",
        "return document.body.dataset.ready;",
    );
    d.screenshot("01-empty");
    // Offline use: the service worker has cached the page and the wasm.
    let cached = d.exec_async(
        "const done = arguments[arguments.length - 1];
         navigator.serviceWorker.ready
           .then(() => caches.keys())
           .then(async (keys) => {
             const k = keys.find((k) => k.startsWith('mockup-demo-'));
             if (!k) return done([]);
             const c = await caches.open(k);
             done((await c.keys()).map((r) => new URL(r.url).pathname));
           })
           .catch((e) => done(String(e)));",
        json!([]),
    );
    println!("offline cache: {cached}");
    for path in [
        "/",
        "/demo/app.js",
        "/demo/worker.js",
        "/demo/web_demo_bg.wasm",
    ] {
        assert!(
            cached
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p == path)),
            "{path} is not in the offline cache: {cached}"
        );
    }
    assert!(d.text("#empty").contains("No template open"));

    // A wrong key is refused in words.
    d.keys("#api-key", "sm_not_a_key");
    d.click("#api-load");
    let msg = d.wait(
        "the refusal",
        "const t = document.getElementById('api-msg').textContent; return t.includes('not accepted') && t;",
    );
    println!("wrong key: {msg}");

    // The right key lists the mockup; opening it downloads the template.
    d.clear("#api-key");
    d.keys("#api-key", &key);
    d.click("#api-load");
    d.wait(
        "the mockup list",
        &format!("return document.querySelector('[data-uuid=\"{mockup_uuid}\"]');"),
    );
    d.click(&format!("#mockups [data-uuid=\"{mockup_uuid}\"]"));
    d.wait(
        "the first frame",
        "return Number(document.body.dataset.frames || 0) >= 1;",
    );
    assert!(
        d.text("#tpl-info").contains("320×240"),
        "{}",
        d.text("#tpl-info")
    );
    d.screenshot("02-template");

    // Artwork dropped on the Design smart object.
    let art = artwork_png();
    drop_artwork(&d, &design, &art);
    d.wait(
        "the artwork",
        "return !document.querySelector('.so.selected .art-thumb').hidden && document.getElementById('art-box');",
    );

    // Options: by keyboard (rotation slider, arrow keys), form controls,
    // and by dragging the artwork box on the preview.
    let so = |k: &str| format!("#so-{design}-{k}");
    d.click(&so("fit"));
    d.exec(
        "const s = document.querySelector(arguments[0]); s.value = 'contain'; s.dispatchEvent(new Event('input'));",
        json!([so("fit")]),
    );
    let rotate_slider = format!(".so[data-uuid='{design}'] input[type=range][data-k=rotate]");
    d.keys(&rotate_slider, "\u{E014}\u{E014}\u{E014}\u{E014}\u{E014}");
    d.click(&so("flip_vertical"));
    d.click(&so("color_on"));
    d.exec(
        "const [hex, blend] = arguments;
         hex.value = '#2080ff'; hex.dispatchEvent(new Event('input'));
         blend.value = 'multiply'; blend.dispatchEvent(new Event('input'));
         const o = document.querySelector(arguments[2]); o.value = '85'; o.dispatchEvent(new Event('input'));
         const b = document.querySelector(arguments[3]); b.value = '12'; b.dispatchEvent(new Event('input'));",
        json!([d.find(&so("hex")), d.find(&so("blending_mode")), so("opacity"), so("brightness")]),
    );
    let art_box = d.find("#art-box");
    d.cmd(
        "POST",
        "/actions",
        Some(json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "duration": 0, "origin": art_box, "x": 0, "y": 0 },
                { "type": "pointerDown", "button": 0 },
                { "type": "pointerMove", "duration": 150, "origin": "pointer", "x": -12, "y": 9 },
                { "type": "pointerUp", "button": 0 },
            ],
        }]})),
    );
    // A layer left out: the Badge.
    d.click(&format!("#hide-{badge}"));
    // Keyboard on the box: Shift+Left shrinks it by one frame pixel.
    d.keys("#art-box", "\u{E008}\u{E012}\u{E008}");
    // Export: PNG at 480 px wide, previewed at that size for the check.
    d.exec(
        "const set = (id, v, ev) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event(ev)); };
         set('exp-format', 'png', 'change');
         set('exp-size-mode', 'width', 'change');
         set('exp-width', '480', 'input');
         set('pv-size', 'export', 'change');",
        json!([]),
    );
    d.exec_async(
        "const done = arguments[arguments.length - 1]; previewIdle().then(() => done(true));",
        json!([]),
    );
    let request = d.exec("return mockupDemo.buildRequest(true);", json!([]));
    let shown = d.text("#req-json");
    println!("request as shown:\n{shown}");
    let asset = &request["smart_objects"][0]["asset"];
    assert_eq!(asset["fit"], "contain");
    assert_eq!(
        asset["rotate"], 5,
        "five ArrowRight presses on the rotation slider"
    );
    assert_eq!(asset["flip_vertical"], true);
    assert!(
        asset["size"]["width"].is_u64() && asset["position"]["left"].is_i64(),
        "{asset}"
    );
    assert_eq!(
        request["smart_objects"][0]["color"],
        json!({ "hex": "#2080FF", "blending_mode": "multiply" })
    );
    assert_eq!(request["export_options"]["image_size"], 480);
    assert_eq!(request["hidden_layers"], json!([badge]));
    assert!(d.text("#req-curl").contains("/api/v1/renders"));
    d.screenshot("03-edited");

    // Pixel parity: the canvas equals the server's PNG of the same request.
    let (w, h, canvas) = canvas_pixels(&d);
    let frame = frame_pixels(&d);
    let (status, body) = read_all(
        agent()
            .post(&format!("{base}/api/v1/renders"))
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .send(request.to_string())
            .unwrap(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let r: Value = serde_json::from_slice(&body).unwrap();
    let url = r["data"]["print_files"][0]["export_path"].as_str().unwrap();
    let (_, png) = read_all(agent().get(url).call().unwrap());
    let (server, sw, sh) = compositor::encode::decode_png_rgba8(&png, u64::MAX).unwrap();
    assert_eq!((w, h), (sw, sh));
    assert_eq!((w, h), (480, 360));
    // What the worker computed is the server's picture exactly.
    assert_eq!(
        diff(&frame, &server),
        (0, 0),
        "preview pixels differ from the server"
    );
    // Through the canvas: identical where opaque; where not, the canvas
    // keeps premultiplied pixels and can round a channel (none expected
    // on this template, whose background is opaque).
    let translucent = server.chunks_exact(4).filter(|p| p[3] < 255).count();
    let (n, max) = diff(&canvas, &server);
    println!("parity: {w}x{h}, canvas vs server: {n} pixels differ (max {max}), {translucent} translucent pixels");
    if translucent == 0 {
        assert_eq!(
            (n, max),
            (0, 0),
            "canvas pixels differ from the server render"
        );
    } else {
        assert!(max <= 1, "canvas differs by {max} levels");
    }

    // "Render on server", synchronous: the result shows.
    d.click("#render-server");
    d.wait(
        "the server render",
        "return document.getElementById('server-msg').textContent === 'Done.' && !document.getElementById('result').hidden;",
    );
    let shown_url = d.exec(
        "return document.getElementById('result').dataset.url;",
        json!([]),
    );
    let (_, png2) = read_all(agent().get(shown_url.as_str().unwrap()).call().unwrap());
    let (result, _, _) = compositor::encode::decode_png_rgba8(&png2, u64::MAX).unwrap();
    assert_eq!(
        diff(&result, &server),
        (0, 0),
        "the page's server render is another picture"
    );
    d.wait(
        "the result image",
        "const i = document.getElementById('result-img'); return i.complete && i.naturalWidth === 480;",
    );
    d.screenshot("04-server-render");

    // Asynchronous: the job is polled until done.
    d.click("#exp-async");
    d.click("#render-server");
    d.wait(
        "the async job",
        "return document.getElementById('server-msg').textContent === 'Done.' && document.getElementById('result-info').textContent.startsWith('job ');",
    );
    println!("async result: {}", d.text("#result-info"));

    // A request the server refuses is explained in words (a DPI out of
    // range is refused before the preview by the same validation).
    d.exec(
        "const e = document.getElementById('exp-dpi'); e.value = '5'; e.dispatchEvent(new Event('input'));",
        json!([]),
    );
    let err = d.wait(
        "the preview's validation error",
        "return document.getElementById('pv-error').textContent;",
    );
    assert!(err.as_str().unwrap().contains("dpi"), "{err}");
    d.click("#exp-async");
    d.click("#render-server");
    let err = d.wait(
        "the server's refusal",
        "const m = document.getElementById('server-msg'); return m.classList.contains('error') && m.textContent;",
    );
    println!("server refusal shown: {err}");
    assert!(
        err.as_str().unwrap().contains("export_options -> dpi"),
        "{err}"
    );
    d.screenshot("05-errors");
    d.exec(
        "const e = document.getElementById('exp-dpi'); e.value = ''; e.dispatchEvent(new Event('input'));",
        json!([]),
    );

    // Benchmark: redraw time per option change (opacity slider), at the
    // preview size (<= 800 px) and at the export size, next to the native
    // render of the same request.
    bench_page(&d, &so("opacity"), "fit");
    bench_page(&d, &so("opacity"), "export");
    bench_native("small-mockup.psd", &psd, &request);

    // A local PSD opens in the browser, without the API; server renders
    // are then unavailable, and the page says why.
    d.click("#tab-local");
    let path = workspace()
        .join("fixtures/small-mockup.psd")
        .canonicalize()
        .unwrap();
    d.keys("#psd-file", path.to_str().unwrap());
    d.wait(
        "the local template",
        "return document.getElementById('tpl-info').textContent.includes('small-mockup.psd');",
    );
    d.exec_async(
        "const done = arguments[arguments.length - 1]; previewIdle().then(() => done(true));",
        json!([]),
    );
    let disabled = d.exec(
        "return document.getElementById('render-server').disabled;",
        json!([]),
    );
    assert_eq!(disabled, true);
    assert!(
        d.text("#server-msg").contains("local files"),
        "{}",
        d.text("#server-msg")
    );
    assert!(!d.text("#req-json").contains("mockup_uuid"));
    d.screenshot("06-local-file");

    // The same benchmark on a real, larger template (a 2.3 Mpx document
    // with a perspective smart object), when the shared fixtures are here.
    let big = workspace().join("../shared/fixtures/psd/ag-psd/placed-transform.psd");
    if !big.is_file() {
        println!(
            "note: {} is missing; the large-template benchmark is skipped",
            big.display()
        );
        return;
    }
    d.keys("#psd-file", big.canonicalize().unwrap().to_str().unwrap());
    d.wait(
        "the large template",
        "return document.getElementById('tpl-info').textContent.includes('placed-transform.psd') && document.body.dataset.idle;",
    );
    // Parsing reported its progress: rising fractions, ending at 1.
    let fractions = d.exec("return mockupDemo.parseProgress;", json!([]));
    let fractions: Vec<f64> = fractions
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_f64().unwrap())
        .collect();
    assert!(fractions.len() >= 3, "parse progress: {fractions:?}");
    assert_eq!(fractions.last(), Some(&1.0), "{fractions:?}");
    assert!(
        fractions.iter().any(|&f| f > 0.0 && f < 1.0),
        "{fractions:?}"
    );
    let uuid = d.exec(
        "return mockupDemo.state.inspection.smart_objects[0].uuid;",
        json!([]),
    );
    let uuid = uuid.as_str().unwrap().to_string();
    drop_artwork(&d, &uuid, &art);
    d.wait(
        "the artwork on the large template",
        "return document.getElementById('art-box');",
    );
    d.exec(
        "const e = document.getElementById('exp-width'); e.value = '1920'; e.dispatchEvent(new Event('input'));",
        json!([]),
    );
    let (w, _) = bench_page(&d, &format!("#so-{uuid}-opacity"), "fit");
    d.screenshot("07-large-template");
    let mut request = d.exec("return mockupDemo.buildRequest(true);", json!([]));
    request["export_options"]["image_size"] = w.into();
    bench_native(
        "placed-transform.psd",
        &std::fs::read(&big).unwrap(),
        &request,
    );
}

/// Drops a PNG on a smart object's artwork zone, as a file dragged from
/// the desktop would arrive.
fn drop_artwork(d: &Driver, uuid: &str, png: &[u8]) {
    d.exec(
        "const [uuid, b64] = arguments;
         const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
         const dt = new DataTransfer();
         dt.items.add(new File([bytes], 'art.png', { type: 'image/png' }));
         document.querySelector(`.so[data-uuid='${uuid}'] .art-drop`)
           .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
        json!([uuid, compositor::request::encode_base64(png)]),
    );
}

/// Times the preview redraw for 15 changes of a slider (`input`), with the
/// preview at `size` (`fit`: <= 800 px wide; `export`). Prints the medians;
/// returns the preview's size.
fn bench_page(d: &Driver, slider: &str, size: &str) -> (u64, u64) {
    d.exec(
        "const e = document.getElementById('pv-size'); e.value = arguments[0]; e.dispatchEvent(new Event('change'));",
        json!([size]),
    );
    let v = d.exec_async(
        "const [sel, done] = arguments;
         (async () => {
           await previewIdle();
           const input = document.querySelector(sel);
           const n0 = mockupDemo.timings.length;
           const wall = [];
           for (let i = 0; i < 15; i++) {
             const t0 = performance.now();
             input.value = String(40 + (i % 10) * 6);
             input.dispatchEvent(new Event('input'));
             await previewIdle();
             wall.push(performance.now() - t0);
           }
           const all = mockupDemo.timings.slice(n0);
           // The frame showing each change is a draft; the exact frame at
           // rest follows it.
           const t = all.filter((x) => x.draft);
           const exact = all.filter((x) => !x.draft).map((x) => x.ms);
           const stages = {};
           for (const x of t) for (const [k, v] of Object.entries(x.stages || {})) (stages[k] = stages[k] || []).push(v);
           done({ wall, render: t.map((x) => x.ms), total: t.map((x) => x.total), exact, w: t[0].width, h: t[0].height, stages });
         })();",
        json!([slider]),
    );
    let f = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (mut render, mut total, mut wall) = (f("render"), f("total"), f("wall"));
    let (mr, mt, mw) = (median(&mut render), median(&mut total), median(&mut wall));
    let mut exact = f("exact");
    let me = median(&mut exact);
    let (w, h) = (v["w"].as_u64().unwrap(), v["h"].as_u64().unwrap());
    let stages: Vec<String> = v["stages"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, xs)| {
                    let mut xs: Vec<f64> = xs
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect();
                    format!("{k} {:.1}", median(&mut xs))
                })
                .collect()
        })
        .unwrap_or_default();
    println!(
        "bench: preview redraw per option change at {w}x{h} ({size}): median {mr:.1} ms in the worker's wasm ({}), {mt:.1} ms until the pixels are on the canvas ({} changes); the exact frame at rest: {me:.1} ms in the wasm, {mw:.1} ms from the change until it is drawn",
        stages.join(", "),
        render.len()
    );
    (w, h)
}

/// Times the native place + composite of `request` (artwork decoded
/// once, as the preview caches it), in this test binary (profile.test).
fn bench_native(name: &str, psd: &[u8], request: &Value) {
    let limits = compositor::Limits::default();
    let doc = compositor::open(psd, &limits).unwrap();
    let req =
        compositor::request::parse(request, compositor::request::MockupUuid::Optional).unwrap();
    let fetch = |_: &str| -> Result<Vec<u8>, String> { Err("none".into()) };
    let decoded = compositor::mockup::decode(&doc, &req, &fetch, &limits).unwrap();
    let mut times = Vec::new();
    let mut size = (0, 0);
    for _ in 0..15 {
        let t0 = Instant::now();
        let placed = compositor::mockup::place(&doc, &req, &decoded, &limits).unwrap();
        let img = compositor::mockup::composite(&doc, &req, placed, &limits).unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        size = (img.width, img.height);
    }
    // The preview's own work for a slider change, natively: kept artwork
    // frames, the kept canvas, a draft rescale (what the worker runs).
    let mut kept = compositor::mockup::decode(&doc, &req, &fetch, &limits).unwrap();
    kept.remember_layouts();
    let mut cache = compositor::mockup::CanvasCache::default();
    let mut drafts = Vec::new();
    for i in 0..16 {
        let mut r = req.clone();
        if let Some(so) = r.smart_objects.first_mut() {
            so.adjustments.opacity = 40 + (i % 10) * 6;
        }
        let t0 = Instant::now();
        let placed = compositor::mockup::place(&doc, &r, &kept, &limits).unwrap();
        compositor::mockup::composite_reusing(
            &doc,
            &r,
            placed,
            &limits,
            &mut cache,
            compositor::mockup::Rescale::Draft,
        )
        .unwrap();
        if i > 0 {
            drafts.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!(
        "bench: native place + composite of the same request on {name} ({}x{} template) at {}x{}: median {:.1} ms whole, {:.1} ms as the preview redraws it (draft)",
        doc.width,
        doc.height,
        size.0,
        size.1,
        median(&mut times),
        median(&mut drafts)
    );
}

/// A raw HTTP/1.1 request (no client-side path normalisation): status,
/// content type and body.
fn raw_get(base: &str, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, ctype, buf[split + 4..].to_vec())
}

#[test]
fn the_page_and_its_assets_are_served_and_the_api_is_not_shadowed() {
    let web = target_dir().join("web-demo");
    if !web.join("index.html").is_file() {
        missing(&format!("{} is not built (cargo xtask web)", web.display()));
        return;
    }
    let data = TempDir::new("web-static");
    let host = serve(&data.0, None, &[]);
    let base = host.base.clone();
    let (status, ctype, body) = raw_get(&base, "GET", "/");
    assert_eq!((status, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body == std::fs::read(web.join("index.html")).unwrap());
    let (status, ctype, body) = raw_get(&base, "GET", "/demo/web_demo_bg.wasm");
    assert_eq!((status, ctype.as_str()), (200, "application/wasm"));
    assert_eq!(&body[..4], b"\0asm");
    let (status, ctype, _) = raw_get(&base, "GET", "/demo/worker.js");
    assert_eq!(
        (status, ctype.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    let (status, _, body) = raw_get(&base, "HEAD", "/demo/app.js");
    assert_eq!((status, body.len()), (200, 0));
    // Nothing outside the directory, and no unknown files.
    for path in [
        "/demo/../index.html",
        "/demo/../../Cargo.toml",
        "/demo//etc/passwd",
        "/demo/nope.js",
    ] {
        assert_eq!(raw_get(&base, "GET", path).0, 404, "{path}");
    }
    // Every other path is the component's, as before.
    let (status, _, body) = raw_get(&base, "GET", "/health");
    assert_eq!(status, 200);
    // (The component's body may be chunked; the words are in it.)
    assert!(String::from_utf8_lossy(&body).contains(r#""status":"ok""#));
    let (status, _, _) = raw_get(&base, "GET", "/api/v1/mockups");
    assert_eq!(status, 401);
    let (status, _, _) = raw_get(&base, "POST", "/");
    assert_eq!(status, 404, "only GET and HEAD reach the page");
}
