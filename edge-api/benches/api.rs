//! The API's own cost on a synchronous render: `edge_api::handle` (auth,
//! rate limit, loading the stored template, validation, storing the
//! result) against `compositor::mockup::render` of the same request on an
//! already-open template, in the same process, natively. The wasm and HTTP
//! overhead on top is measured by `scripts/load-test.py`.
//! Run: `cargo bench -p edge-api --bench api`.

use compositor::request::{parse, MockupUuid};
use criterion::{criterion_group, criterion_main, Criterion};
use edge_api::{create_api_key, handle, Env, MemoryStore, Request, Store};
use serde_json::json;
use std::cell::Cell;

struct BenchEnv {
    store: MemoryStore,
    clock: Cell<u64>,
}

impl Env for BenchEnv {
    fn store(&self) -> &dyn Store {
        &self.store
    }
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        Err(format!("offline: {url}"))
    }
    fn now_ms(&self) -> u64 {
        // Advance a little each call, so rate-limit windows roll over.
        let t = self.clock.get() + 1;
        self.clock.set(t);
        t
    }
    fn random(&self, buf: &mut [u8]) {
        // Deterministic but distinct: a counter-mixed xorshift.
        let mut x = self.clock.get().wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        self.clock.set(self.clock.get() + 1);
    }
    fn base_url(&self) -> String {
        "http://bench".into()
    }
}

fn artwork_b64() -> String {
    let (w, h) = (1600u32, 1200u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x ^ y) & 255) as u8,
                255,
            ]
        })
        .collect();
    let png = compositor::encode::png_rgba8(&rgba, w, h).unwrap();
    compositor::request::encode_base64(&png)
}

fn bench(c: &mut Criterion) {
    let path = "../../shared/fixtures/psd/ag-psd/placed-transform.psd";
    let Ok(psd) = std::fs::read(path) else {
        eprintln!("{path} missing; skipped");
        return;
    };
    let env = BenchEnv {
        store: MemoryStore::new(),
        clock: Cell::new(1_700_000_000_000),
    };
    let key = create_api_key(&env, "bench", i64::MAX / 2).unwrap();
    let up = handle(
        &env,
        Request::new("POST", "/api/v1/psd/upload")
            .query("name", "bench")
            .header("x-api-key", &key)
            .header("content-type", "application/octet-stream")
            .body(psd.clone()),
    );
    assert_eq!(up.status, 200);
    let mockup = up.json_body()["data"].clone();
    let so = mockup["smart_objects"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({
        "mockup_uuid": mockup["uuid"],
        "smart_objects": [{"uuid": so, "asset": {"base64": artwork_b64(), "fit": "cover"}}],
        "export_options": {"image_format": "jpg", "image_size": 1920, "quality": 90}
    });
    let limits = compositor::Limits::default();
    let doc = compositor::open(&psd, &limits).unwrap();
    let req = parse(&body, MockupUuid::Required).unwrap();

    let mut group = c.benchmark_group("sync-render-1920-jpg");
    group.sample_size(10);
    group.bench_function("compositor::mockup::render", |b| {
        b.iter(|| {
            compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits).unwrap()
        })
    });
    group.bench_function("edge_api::handle", |b| {
        b.iter(|| {
            let r = handle(
                &env,
                Request::new("POST", "/api/v1/renders")
                    .header("x-api-key", &key)
                    .json(&body),
            );
            assert_eq!(r.status, 200);
            r
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
