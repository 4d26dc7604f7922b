//! End-to-end tests over `handle` with a `MemoryStore`, a fake clock, a
//! deterministic random source and a fake fetcher.

mod common;

use common::*;
use edge_api::jobs::{self, Status, LEASE_MS, MAX_ATTEMPTS};
use edge_api::{create_api_key, handle, Env, Request, Store};
use serde_json::{json, Value};

#[test]
fn health_is_public() {
    let e = env();
    let r = handle(&e, Request::new("GET", "/health"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json_body(), json!({ "status": "ok" }));
}

#[test]
fn auth_accepts_both_headers_and_both_prefixes() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    assert!(key.starts_with("sm_") && key.len() == 43);
    assert!(key[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
    // The key is stored only hashed.
    let stored = e.store.keys_with_prefix("apikey:");
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&key[3..]));
    let sk = format!("sk-{}", &key[3..]);
    for r in [
        handle(
            &e,
            Request::new("GET", "/api/v1/me").header("x-api-key", &key),
        ),
        handle(
            &e,
            Request::new("GET", "/api/v1/me").header("authorization", &format!("Bearer {key}")),
        ),
        handle(
            &e,
            Request::new("GET", "/api/v1/me").header("x-api-key", &sk),
        ),
        handle(
            &e,
            Request::new("GET", "/api/v1/me").header("Authorization", &format!("bearer {sk}")),
        ),
    ] {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    assert_error(
        &handle(&e, Request::new("GET", "/api/v1/me")),
        401,
        "Not authenticated",
    );
    assert_error(
        &handle(
            &e,
            Request::new("GET", "/api/v1/me").header("x-api-key", "pk_live_123"),
        ),
        401,
        "Invalid API key format. Must start with 'sm_'",
    );
    let wrong = format!("sm_{}", "A".repeat(40));
    assert_error(
        &get(&e, &wrong, "/api/v1/me"),
        401,
        "Invalid or revoked API key",
    );
    assert_error(
        &get(&e, "sm_short", "/api/v1/me"),
        401,
        "Invalid or revoked API key",
    );
    // Every keyed route refuses an anonymous caller with 401.
    for (m, p) in [
        ("GET", "/api/v1/mockups"),
        ("GET", "/api/v1/psd-mockups"),
        ("POST", "/api/v1/psd/upload"),
        ("POST", "/api/v1/renders"),
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/c315f78f-d2c7-4541-b240-a9372842de94"),
    ] {
        assert_eq!(handle(&e, Request::new(m, p)).status, 401, "{m} {p}");
    }
}

#[test]
fn me_reports_account_credits_and_usage() {
    let e = env();
    let key = create_api_key(&e, "main", 7).unwrap();
    let b = get(&e, &key, "/api/v1/me").json_body();
    let d = &b["data"];
    assert_eq!(b["success"], true);
    assert_eq!(d["usage"]["credits_remaining"], 7);
    assert_eq!(d["usage"]["credits_limit"], 7);
    assert_eq!(d["usage"]["credits_used_this_month"], 0);
    assert_eq!(d["usage"]["billing_period_start"], "2026-06-01T00:00:00Z");
    assert_eq!(d["usage"]["billing_period_end"], "2026-07-01T00:00:00Z");
    assert_eq!(d["account"]["created_at"], "2026-06-22T10:00:00Z");
    assert_eq!(d["api_key"]["name"], "main");
    assert_eq!(d["api_key"]["total_requests"], 1);
    assert!(d["account"]["uuid"].is_string());
    assert!(d["subscription"]["plan"].is_string());
}

#[test]
fn upload_by_url_then_get_list_layers_rename_delete() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    let r = post(
        &e,
        &key,
        "/api/v1/psd/upload",
        json!({ "psd_file_url": PSD_URL }),
    );
    assert_eq!(r.status, 200);
    let m = r.json_body()["data"].clone();
    assert_eq!(m["name"], "small-mockup");
    assert_eq!(m["width"], 320);
    assert_eq!(m["height"], 240);
    let sos = m["smart_objects"].as_array().unwrap();
    assert_eq!(sos[0]["name"], "Badge");
    assert_eq!(sos[0]["size"], json!({ "width": 64, "height": 64 }));
    assert_eq!(sos[1]["name"], "Design");
    let uuid = m["uuid"].as_str().unwrap();
    // The preview is served like a result: a WebP as wide as the template
    // (which is narrower than 720).
    let thumb = m["thumbnail"].as_str().unwrap();
    assert_eq!(m["thumbnail_url"], thumb);
    let t = handle(&e, Request::new("GET", &file_path(thumb)));
    assert_eq!(t.status, 200);
    assert_eq!(t.header_value("content-type"), Some("image/webp"));
    assert_eq!((&t.body[..4], &t.body[8..12]), (&b"RIFF"[..], &b"WEBP"[..]));
    // Uploads are free.
    assert_eq!(balance(&e, &key), 10);

    for base in ["/api/v1/mockups", "/api/v1/psd-mockups"] {
        let g = get(&e, &key, &format!("{base}/{uuid}")).json_body();
        assert_eq!(g["data"]["uuid"], uuid);
        assert_eq!(g["data"]["smart_objects"], m["smart_objects"]);
        let l = get(&e, &key, &format!("{base}/{uuid}/layers")).json_body();
        assert_eq!(l["data"]["mockup_uuid"], uuid);
        let layers = l["data"]["layers"].as_array().unwrap();
        assert!(!layers.is_empty());
        // A smart object has the same uuid in the mockup and the layer list.
        fn find(nodes: &Value, uuid: &Value) -> bool {
            nodes.as_array().unwrap().iter().any(|n| {
                (n["uuid"] == *uuid && n["kind"] == "smart_object") || find(&n["children"], uuid)
            })
        }
        assert!(find(&l["data"]["layers"], &sos[1]["uuid"]));
        for n in layers {
            assert!(n["name"].is_string() && n["visible"].is_boolean() && n["children"].is_array());
        }
    }

    let (second, _) = upload(&e, &key);
    let list = get(&e, &key, "/api/v1/mockups?limit=1").json_body();
    assert_eq!(list["data"]["total"], 2);
    assert_eq!(list["data"]["limit"], 1);
    assert_eq!(list["data"]["offset"], 0);
    assert_eq!(list["data"]["mockups"][0]["uuid"], second.as_str());
    let page2 = handle(
        &e,
        Request::new("GET", "/api/v1/psd-mockups")
            .header("x-api-key", &key)
            .query("limit", "1")
            .query("offset", "1"),
    )
    .json_body();
    assert_eq!(page2["data"]["mockups"][0]["uuid"], uuid);
    assert_422(&get(&e, &key, "/api/v1/mockups?limit=x"), "query -> limit");

    let p = handle(
        &e,
        Request::new("PATCH", &format!("/api/v1/mockups/{uuid}"))
            .header("x-api-key", &key)
            .json(&json!({ "name": "Renamed" })),
    );
    assert_eq!(p.status, 200);
    assert_eq!(p.json_body()["data"]["name"], "Renamed");
    assert_eq!(
        get(&e, &key, &format!("/api/v1/mockups/{uuid}")).json_body()["data"]["name"],
        "Renamed"
    );
    for bad in [
        json!({}),
        json!({ "name": "" }),
        json!({ "name": 5 }),
        json!({ "name": "x".repeat(256) }),
    ] {
        let p = handle(
            &e,
            Request::new("PATCH", &format!("/api/v1/mockups/{uuid}"))
                .header("x-api-key", &key)
                .json(&bad),
        );
        assert_422(&p, "body -> name");
    }

    let blobs_before = e.store.keys_with_prefix("blob:").len();
    let d = handle(
        &e,
        Request::new("DELETE", &format!("/api/v1/psd-mockups/{uuid}")).header("x-api-key", &key),
    );
    assert_eq!(d.status, 200);
    assert!(e.store.keys_with_prefix("blob:").len() < blobs_before);
    assert_error(
        &get(&e, &key, &format!("/api/v1/mockups/{uuid}")),
        404,
        &format!("Mockup not found: {uuid}"),
    );
    assert_eq!(
        get(&e, &key, "/api/v1/mockups").json_body()["data"]["total"],
        1
    );
    let d = handle(
        &e,
        Request::new("DELETE", &format!("/api/v1/mockups/{uuid}")).header("x-api-key", &key),
    );
    assert_eq!(d.status, 404);
}

#[test]
fn mockup_list_query_validation() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    for (q, field) in [
        ("limit=0", "query -> limit"),
        ("limit=101", "query -> limit"),
        ("limit=abc", "query -> limit"),
        ("offset=-1", "query -> offset"),
        ("sort=size", "query -> sort"),
        ("order=up", "query -> order"),
        ("created_after=last week", "query -> created_after"),
        ("created_before=2026-13-01", "query -> created_before"),
    ] {
        let (k, v) = q.split_once('=').unwrap();
        let r = handle(
            &e,
            Request::new("GET", "/api/v1/mockups")
                .header("x-api-key", &key)
                .query(k, v),
        );
        assert_422(&r, field);
    }
    let empty = get(&e, &key, "/api/v1/mockups").json_body();
    assert_eq!(
        empty["data"],
        json!({ "mockups": [], "total": 0, "limit": 20, "offset": 0 })
    );
}

#[test]
fn mockup_list_filters_and_sorts() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    // Three mockups an hour apart: "Tee front", "mug", "Tee back".
    let start = e.now_ms();
    let mut uuids = Vec::new();
    for name in ["Tee front", "mug", "Tee back"] {
        let r = post(
            &e,
            &key,
            "/api/v1/psd/upload",
            json!({ "psd_file_url": PSD_URL, "psd_name": name }),
        );
        uuids.push(r.json_body()["data"]["uuid"].as_str().unwrap().to_string());
        e.advance(3_600_000);
    }
    // The oldest is renamed last, so it is the most recently updated.
    let r = handle(
        &e,
        Request::new("PATCH", &format!("/api/v1/mockups/{}", uuids[0]))
            .header("x-api-key", &key)
            .json(&json!({ "name": "Tee front" })),
    );
    assert_eq!(r.status, 200);
    let names = |q: &[(&str, &str)]| -> (Vec<String>, u64) {
        let mut r = Request::new("GET", "/api/v1/psd-mockups").header("x-api-key", &key);
        for (k, v) in q {
            r = r.query(k, v);
        }
        let b = handle(&e, r).json_body();
        let names = b["data"]["mockups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect();
        (names, b["data"]["total"].as_u64().unwrap())
    };
    let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&[]), (v(&["Tee back", "mug", "Tee front"]), 3));
    assert_eq!(
        names(&[("order", "asc")]),
        (v(&["Tee front", "mug", "Tee back"]), 3)
    );
    assert_eq!(
        names(&[("name", "tee")]),
        (v(&["Tee back", "Tee front"]), 2)
    );
    assert_eq!(
        names(&[("name", "TEE"), ("limit", "1"), ("offset", "1")]),
        (v(&["Tee front"]), 2)
    );
    assert_eq!(
        names(&[("sort", "name"), ("order", "asc")]),
        (v(&["mug", "Tee back", "Tee front"]), 3)
    );
    assert_eq!(names(&[("sort", "updated_at")]).0[0], "Tee front");
    let iso = chrono_free_iso;
    assert_eq!(
        names(&[("created_after", &iso(start + 1_800_000))]),
        (v(&["Tee back", "mug"]), 2)
    );
    assert_eq!(
        names(&[
            ("created_after", &iso(start + 1_800_000)),
            ("created_before", &iso(start + 5_400_000)),
        ]),
        (v(&["mug"]), 1)
    );
    assert_eq!(names(&[("name", "poster")]), (v(&[]), 0));
}

/// Unix ms to `YYYY-MM-DDTHH:MM:SSZ`, computed here independently of the
/// crate (the test clock starts at 2026-06-22T10:00:00Z).
fn chrono_free_iso(ms: u64) -> String {
    let base = 1_782_122_400_000u64;
    assert!(
        ms >= base && ms - base < 14 * 3_600_000,
        "within the test day"
    );
    let secs = (ms - base) / 1000 + 10 * 3600;
    format!(
        "2026-06-22T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn direct_upload_of_file_bytes() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("content-type", "application/octet-stream")
            .query("name", "Direct")
            .body(fixture()),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let m = r.json_body()["data"].clone();
    assert_eq!(m["name"], "Direct");
    assert_eq!(m["smart_objects"].as_array().unwrap().len(), 2);
    assert_eq!(e.fetches.get(), 0);
    // Big values are chunked: the stored template spans its chunks.
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("content-type", "image/vnd.adobe.photoshop")
            .body(b"not a psd".to_vec()),
    );
    assert_422(&r, "body");
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("content-type", "application/octet-stream"),
    );
    assert_422(&r, "body");
}

#[test]
fn upload_errors_map_to_spec_statuses() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    let up = |b: Value| post(&e, &key, "/api/v1/psd/upload", b);
    assert_422(&up(json!({})), "body -> psd_file_url");
    assert_422(&up(json!({ "psd_file_url": 42 })), "body -> psd_file_url");
    assert_422(
        &up(json!({ "psd_file_url": "ftp://x/y.psd" })),
        "body -> psd_file_url",
    );
    assert_422(
        &up(json!({ "psd_file_url": PSD_URL, "psd_name": 3 })),
        "body -> psd_name",
    );
    assert_422(
        &up(json!({ "psd_file_url": PSD_URL, "is_async": "yes" })),
        "body -> is_async",
    );
    assert_422(
        &up(json!({ "psd_file_url": "https://templates.test/not-a-psd.psd" })),
        "body -> psd_file_url",
    );
    let r = up(json!({ "psd_file_url": "https://templates.test/missing.psd" }));
    assert_eq!(r.status, 502);
    assert_eq!(r.json_body()["success"], false);
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("content-type", "application/json")
            .body(b"{not json".to_vec()),
    );
    assert_422(&r, "body");
    // Nothing was created by the failures.
    assert_eq!(
        get(&e, &key, "/api/v1/mockups").json_body()["data"]["total"],
        0
    );
}

#[test]
fn sync_render_serves_a_real_image_and_charges_one_credit() {
    let e = env();
    let key = create_api_key(&e, "main", 3).unwrap();
    let (mockup, so) = upload(&e, &key);
    let r = post(&e, &key, "/api/v1/renders", render_body(&mockup, &so));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let b = r.json_body();
    assert_eq!(b["success"], true);
    let pf = &b["data"]["print_files"][0];
    assert_eq!(pf["smart_object_uuid"], so.as_str());
    let url = pf["export_path"].as_str().unwrap();
    assert!(
        url.starts_with("http://api.test/files/") && url.ends_with(".png"),
        "{url}"
    );
    assert_eq!(balance(&e, &key), 2);
    assert_eq!(
        get(&e, &key, "/api/v1/me").json_body()["data"]["usage"]["credits_used_this_month"],
        1
    );

    // Served without authentication, as a CDN URL would be.
    let f = handle(&e, Request::new("GET", &file_path(url)));
    assert_eq!(f.status, 200);
    assert_eq!(f.header_value("content-type"), Some("image/png"));
    assert_eq!(&f.body[..8], b"\x89PNG\r\n\x1a\n");
    let (px, w, h) = compositor::encode::decode_png_rgba8(&f.body, 1 << 24).unwrap();
    assert_eq!((w, h), (160, 120));
    assert_eq!(px.len(), 160 * 120 * 4);
    let head = handle(&e, Request::new("HEAD", &file_path(url)));
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header_value("content-length"),
        Some(f.body.len().to_string().as_str())
    );

    // Same id without the extension also works; a wrong id does not.
    let id_only = file_path(url).trim_end_matches(".png").to_string();
    assert_eq!(handle(&e, Request::new("GET", &id_only)).status, 200);
    assert_eq!(
        handle(
            &e,
            Request::new("GET", "/files/0123456789abcdef0123456789abcdef")
        )
        .status,
        404
    );
    assert_eq!(
        handle(&e, Request::new("GET", "/files/../../etc")).status,
        404
    );

    // Kept 7 days, then gone.
    e.advance(7 * 24 * 3600 * 1000 - 1);
    assert_eq!(handle(&e, Request::new("GET", &file_path(url))).status, 200);
    e.advance(1);
    assert_eq!(handle(&e, Request::new("GET", &file_path(url))).status, 404);
}

#[test]
fn render_errors_map_to_spec_statuses_and_never_charge() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let r = |b: Value| post(&e, &key, "/api/v1/renders", b);

    assert_422(
        &r(json!({ "mockup_uuid": mockup, "smart_objects": [] })),
        "body -> smart_objects",
    );
    assert_422(
        &r(json!({ "smart_objects": [{ "uuid": so, "color": { "hex": "#ff0000" } }] })),
        "body -> mockup_uuid",
    );
    assert_422(
        &r(json!({ "mockup_uuid": mockup, "smart_objects": [{ "uuid": so }] })),
        "body -> smart_objects -> 0",
    );
    assert_422(&r(json!([1, 2])), "body");

    let missing = "c315f78f-d2c7-4541-b240-a9372842de94";
    assert_error(
        &r(render_body(missing, &so)),
        404,
        &format!("Mockup not found: {missing}"),
    );
    let ghost = "128394ee-6758-4f2f-aa36-e2b19b152bd9";
    assert_error(
        &r(render_body(&mockup, ghost)),
        400,
        &format!("Smart object {ghost} not found in mockup"),
    );
    let mut hidden = render_body(&mockup, &so);
    hidden["hidden_layers"] = json!([ghost]);
    assert_eq!(r(hidden).status, 400);

    let mut bad_url = render_body(&mockup, &so);
    bad_url["smart_objects"][0]["asset"]["url"] = json!("https://art.test/missing.png");
    let resp = r(bad_url);
    assert_eq!(resp.status, 502);
    assert_eq!(resp.json_body()["success"], false);

    let mut bad_art = render_body(&mockup, &so);
    bad_art["smart_objects"][0]["asset"] =
        json!({ "base64": "aGVsbG8=", "content_type": "image/png" });
    assert_422(&r(bad_art), "body -> smart_objects -> 0 -> asset");

    assert_eq!(balance(&e, &key), 5);
    assert_eq!(result_files(&e), 0, "no result file was stored");
}

#[test]
fn no_credits_is_402_with_the_spec_body() {
    let e = env();
    let key = create_api_key(&e, "main", 1).unwrap();
    let (mockup, so) = upload(&e, &key);
    assert_eq!(
        post(&e, &key, "/api/v1/renders", render_body(&mockup, &so)).status,
        200
    );
    let r = post(&e, &key, "/api/v1/renders", render_body(&mockup, &so));
    assert_eq!(r.status, 402);
    let b = r.json_body();
    assert_eq!(b["error"], "credits_exhausted");
    assert_eq!(b["credits_reset_at"], "2026-07-01T00:00:00Z");
    assert!(b["message"].is_string());
    let mut asynchronous = render_body(&mockup, &so);
    asynchronous["is_async"] = json!(true);
    assert_eq!(post(&e, &key, "/api/v1/renders", asynchronous).status, 402);
    // Uploads stay free.
    upload(&e, &key);
    assert_eq!(balance(&e, &key), 0);
}

#[test]
fn idempotency_key_returns_the_original_response_and_charges_once() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let req = || {
        Request::new("POST", "/api/v1/renders")
            .header("x-api-key", &key)
            .header("idempotency-key", "order-42")
            .json(&render_body(&mockup, &so))
    };
    let first = handle(&e, req());
    assert_eq!(first.status, 200);
    let fetches = e.fetches.get();
    let second = handle(&e, req());
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header_value("idempotent-replayed"), Some("true"));
    assert_eq!(e.fetches.get(), fetches, "the replay did no work");
    assert_eq!(balance(&e, &key), 4);

    // The same key with another body is refused; another account's same
    // key is independent.
    let mut other = render_body(&mockup, &so);
    other["export_options"]["image_size"] = json!(200);
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/renders")
            .header("x-api-key", &key)
            .header("idempotency-key", "order-42")
            .json(&other),
    );
    assert_422(&r, "header -> Idempotency-Key");

    // Async submits and uploads too: one job, one mockup.
    let mut a = render_body(&mockup, &so);
    a["is_async"] = json!(true);
    let areq = || {
        Request::new("POST", "/api/v1/renders")
            .header("x-api-key", &key)
            .header("idempotency-key", "async-1")
            .json(&a)
    };
    let j1 = handle(&e, areq());
    let j2 = handle(&e, areq());
    assert_eq!(j1.status, 202);
    assert_eq!(j1.body, j2.body);
    let list = get(&e, &key, "/api/v1/jobs").json_body();
    assert_eq!(list["jobs"].as_array().unwrap().len(), 1);
    let ureq = || {
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("idempotency-key", "upload-1")
            .json(&json!({ "psd_file_url": PSD_URL }))
    };
    assert_eq!(handle(&e, ureq()).body, handle(&e, ureq()).body);
    assert_eq!(
        get(&e, &key, "/api/v1/mockups").json_body()["data"]["total"],
        2
    );

    // A failed-upstream (502) answer is not stored: a retry runs again.
    let mut broken = render_body(&mockup, &so);
    broken["smart_objects"][0]["asset"]["url"] = json!("https://art.test/later.png");
    let breq = || {
        Request::new("POST", "/api/v1/renders")
            .header("x-api-key", &key)
            .header("idempotency-key", "retry-me")
            .json(&broken)
    };
    assert_eq!(handle(&e, breq()).status, 502);
    e.files
        .borrow_mut()
        .insert("https://art.test/later.png".into(), art_png());
    assert_eq!(handle(&e, breq()).status, 200);
}

#[test]
fn async_render_runs_in_the_worker_and_is_charged_once() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let mut body = render_body(&mockup, &so);
    body["is_async"] = json!(true);
    let r = post(&e, &key, "/api/v1/renders", body);
    assert_eq!(r.status, 202);
    let ack = r.json_body();
    let id = ack["render_uuid"].as_str().unwrap().to_string();
    assert_eq!(ack["job_id"], id.as_str());
    assert_eq!(ack["kind"], "render");
    assert_eq!(ack["status"], "queued");
    assert_eq!(ack["status_url"], format!("/api/v1/jobs/{id}"));
    assert!(ack.get("success").is_none(), "202 bodies are bare");

    let j = get(&e, &key, &format!("/api/v1/jobs/{id}")).json_body();
    assert_eq!(j["status"], "queued");
    assert_eq!(j["credits_charged"], Value::Null);
    assert_eq!(j["result_url"], Value::Null);
    assert_eq!(j["created_at"], "2026-06-22T10:00:00Z");
    assert_eq!(balance(&e, &key), 5, "nothing charged before success");

    e.advance(3000);
    let w = work(&e, "host-a");
    assert_eq!(w["job_id"], id.as_str());
    assert_eq!(w["status"], "succeeded");
    let j = get(&e, &key, &format!("/api/v1/jobs/{id}")).json_body();
    assert_eq!(j["status"], "succeeded");
    assert_eq!(j["credits_charged"], 1);
    assert_eq!(j["mockup_uuid"], Value::Null);
    assert_eq!(j["error"], Value::Null);
    assert_eq!(j["updated_at"], "2026-06-22T10:00:03Z");
    assert_eq!(j["started_at"], "2026-06-22T10:00:03Z");
    assert_eq!(j["completed_at"], "2026-06-22T10:00:03Z");
    let url = j["result_url"].as_str().unwrap();
    let f = handle(&e, Request::new("GET", &file_path(url)));
    assert_eq!(f.status, 200);
    assert_eq!(f.header_value("content-type"), Some("image/png"));
    assert_eq!(&f.body[1..4], b"PNG");
    assert_eq!(balance(&e, &key), 4);

    // Nothing left to do; the terminal job never changes.
    assert_eq!(work(&e, "host-a")["job_id"], Value::Null);
    let c = post(&e, &key, &format!("/api/v1/jobs/{id}/cancel"), json!({}));
    assert_eq!(c.status, 409);
    assert_eq!(
        get(&e, &key, &format!("/api/v1/jobs/{id}")).json_body()["status"],
        "succeeded"
    );
    assert_eq!(balance(&e, &key), 4);
}

#[test]
fn async_render_failure_is_recorded_and_not_charged() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let mut body = render_body(&mockup, &so);
    body["is_async"] = json!(true);
    body["smart_objects"][0]["asset"]["url"] = json!("https://art.test/gone.png");
    let id = post(&e, &key, "/api/v1/renders", body).json_body()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(work(&e, "w")["status"], "failed");
    let j = get(&e, &key, &format!("/api/v1/jobs/{id}")).json_body();
    assert_eq!(j["status"], "failed");
    assert_eq!(j["credits_charged"], 0);
    assert!(j["error"].as_str().unwrap().contains("Could not download"));
    assert_eq!(balance(&e, &key), 5);
}

#[test]
fn async_upload_creates_the_mockup_in_the_worker() {
    let e = env();
    let key = create_api_key(&e, "main", 0).unwrap();
    let r = post(
        &e,
        &key,
        "/api/v1/psd/upload",
        json!({ "psd_file_url": PSD_URL, "is_async": true, "psd_name": "Later" }),
    );
    assert_eq!(r.status, 202);
    let ack = r.json_body();
    assert_eq!(ack["kind"], "upload");
    let id = ack["job_id"].as_str().unwrap().to_string();
    assert_eq!(e.fetches.get(), 0, "the file is fetched by the worker");
    assert_eq!(work(&e, "w")["status"], "succeeded");
    let j = get(&e, &key, &format!("/api/v1/jobs/{id}")).json_body();
    let m = j["mockup_uuid"].as_str().unwrap();
    assert_eq!(j["result_url"], format!("/library/mockups/{m}"));
    assert_eq!(j["credits_charged"], 0);
    let g = get(&e, &key, &format!("/api/v1/mockups/{m}")).json_body();
    assert_eq!(g["data"]["name"], "Later");

    // Direct bytes, async.
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("content-type", "application/octet-stream")
            .query("is_async", "true")
            .body(fixture()),
    );
    assert_eq!(r.status, 202);
    assert_eq!(work(&e, "w")["status"], "succeeded");
    assert_eq!(
        get(&e, &key, "/api/v1/mockups").json_body()["data"]["total"],
        2
    );

    // A file that is not a PSD fails the job.
    let r = post(
        &e,
        &key,
        "/api/v1/psd/upload",
        json!({ "psd_file_url": "https://templates.test/not-a-psd.psd", "is_async": true }),
    );
    let id = r.json_body()["job_id"].as_str().unwrap().to_string();
    assert_eq!(work(&e, "w")["status"], "failed");
    let j = get(&e, &key, &format!("/api/v1/jobs/{id}")).json_body();
    assert!(j["error"]
        .as_str()
        .unwrap()
        .contains("Could not read the PSD"));
}

/// Submits an async render and returns its job id.

#[test]
fn claim_twice_one_wins() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let id = submit_async(&e, &key, &mockup, &so);
    let a = jobs::claim(&e, "host-a").unwrap();
    let b = jobs::claim(&e, "host-b").unwrap();
    assert_eq!(a.as_ref().map(|(j, _)| j.id.as_str()), Some(id.as_str()));
    assert!(b.is_none());
    let (job, _) = a.unwrap();
    assert_eq!(job.status, Status::Dispatched);
    assert_eq!(job.lease_owner.as_deref(), Some("host-a"));
    assert_eq!(job.lease_until, Some(e.now_ms() + LEASE_MS));
    assert_eq!(job_status(&e, &key, &id)["status"], "dispatched");
    // Two claimers racing on the same stored bytes: the second CAS fails.
    let raw = e.store.get(&format!("job:{id}")).unwrap().unwrap();
    assert!(!e
        .store
        .compare_and_swap(&format!("job:{id}"), Some(b"{}"), &raw)
        .unwrap());
}

#[test]
fn requeue_by_worker_and_lease_expiry() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let id = submit_async(&e, &key, &mockup, &so);
    jobs::claim(&e, "host-a").unwrap().unwrap();
    // Another worker's requeue leaves it alone.
    assert_eq!(requeue(&e, "host-b")["requeued"], json!([]));
    assert_eq!(job_status(&e, &key, &id)["status"], "dispatched");
    assert_eq!(requeue(&e, "host-a")["requeued"], json!([id]));
    assert_eq!(job_status(&e, &key, &id)["status"], "queued");

    // Claimed again and abandoned: after the lease it is requeued by the
    // next work call, which then runs it.
    jobs::claim(&e, "host-a").unwrap().unwrap();
    assert_eq!(
        work(&e, "host-b")["job_id"],
        Value::Null,
        "lease still held"
    );
    e.advance(LEASE_MS);
    let w = work(&e, "host-b");
    assert_eq!(w["job_id"], id.as_str());
    assert_eq!(w["status"], "succeeded");
    assert_eq!(balance(&e, &key), 4);
}

#[test]
fn a_job_that_keeps_losing_its_worker_fails() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let id = submit_async(&e, &key, &mockup, &so);
    // Each claim dies with its worker; the host requeues at restart.
    for attempt in 1..=MAX_ATTEMPTS {
        jobs::claim(&e, "crashy").unwrap().unwrap();
        requeue(&e, "crashy");
        let expected = if attempt < MAX_ATTEMPTS {
            "queued"
        } else {
            "failed"
        };
        assert_eq!(job_status(&e, &key, &id)["status"], expected);
    }
    let j = job_status(&e, &key, &id);
    assert_eq!(j["status"], "failed", "{j}");
    assert_eq!(j["credits_charged"], 0);
    assert_eq!(balance(&e, &key), 5);
}

#[test]
fn late_finisher_loses_and_changes_nothing() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let id = submit_async(&e, &key, &mockup, &so);
    // While host-a is fetching the artwork, it is declared dead: its jobs
    // are requeued and host-b runs the job to completion.
    *e.on_fetch.borrow_mut() = Some(Box::new(|env: &TestEnv| {
        requeue(env, "host-a");
        let w = work(env, "host-b");
        assert_eq!(w["status"], "succeeded");
    }));
    let w = work(&e, "host-a");
    assert_eq!(w["job_id"], id.as_str());
    assert_eq!(w["status"], Value::Null, "host-a lost");
    let j = job_status(&e, &key, &id);
    assert_eq!(j["status"], "succeeded");
    assert_eq!(j["credits_charged"], 1);
    assert_eq!(balance(&e, &key), 4, "charged exactly once");
    // host-a's result file was discarded: only host-b's is left.
    assert_eq!(result_files(&e), 1);
    let url = j["result_url"].as_str().unwrap();
    assert_eq!(handle(&e, Request::new("GET", &file_path(url))).status, 200);
}

#[test]
fn cancel_queued_and_running_jobs() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let id = submit_async(&e, &key, &mockup, &so);
    let c = post(&e, &key, &format!("/api/v1/jobs/{id}/cancel"), json!({}));
    assert_eq!(c.status, 200);
    let cj = c.json_body();
    assert_eq!(cj["status"], "cancelled");
    assert_eq!(cj["credits_charged"], 0);
    assert_eq!(
        work(&e, "w")["job_id"],
        Value::Null,
        "a cancelled job never runs"
    );
    let again = post(&e, &key, &format!("/api/v1/jobs/{id}/cancel"), json!({}));
    assert_error(&again, 409, "Job is already cancelled");

    // Cancelled while running: the worker's result is thrown away.
    let id2 = submit_async(&e, &key, &mockup, &so);
    let id2c = id2.clone();
    let key2 = key.clone();
    *e.on_fetch.borrow_mut() = Some(Box::new(move |env: &TestEnv| {
        assert_eq!(job_status(env, &key2, &id2c)["status"], "running");
        let c = post(
            env,
            &key2,
            &format!("/api/v1/jobs/{id2c}/cancel"),
            json!({}),
        );
        assert_eq!(c.status, 200);
    }));
    let w = work(&e, "w");
    assert_eq!(w["job_id"], id2.as_str());
    assert_eq!(w["status"], Value::Null);
    let j = job_status(&e, &key, &id2);
    assert_eq!(j["status"], "cancelled");
    assert_eq!(j["result_url"], Value::Null);
    assert_eq!(balance(&e, &key), 5);
}

#[test]
fn jobs_list_is_newest_first_with_a_keyset_cursor() {
    let e = env();
    let key = create_api_key(&e, "main", 50).unwrap();
    let empty = get(&e, &key, "/api/v1/jobs").json_body();
    assert_eq!(empty, json!({ "jobs": [], "next_cursor": null }));
    let (mockup, so) = upload(&e, &key);
    let mut ids = Vec::new();
    for i in 0..5 {
        e.advance(1000);
        if i == 2 {
            let r = post(
                &e,
                &key,
                "/api/v1/psd/upload",
                json!({ "psd_file_url": PSD_URL, "is_async": true }),
            );
            ids.push(r.json_body()["job_id"].as_str().unwrap().to_string());
        } else {
            ids.push(submit_async(&e, &key, &mockup, &so));
        }
    }
    ids.reverse(); // newest first
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut req = Request::new("GET", "/api/v1/jobs")
            .header("x-api-key", &key)
            .query("limit", "2");
        if let Some(c) = &cursor {
            req = req.query("cursor", c);
        }
        let b = handle(&e, req).json_body();
        pages += 1;
        for j in b["jobs"].as_array().unwrap() {
            seen.push(j["render_uuid"].as_str().unwrap().to_string());
            assert!(j.get("mockup_name").is_some() && j.get("poster_url").is_some());
        }
        match b["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);

    // A new job does not shift the pages behind a cursor.
    let first = handle(
        &e,
        Request::new("GET", "/api/v1/jobs")
            .header("x-api-key", &key)
            .query("limit", "2"),
    )
    .json_body();
    let c = first["next_cursor"].as_str().unwrap().to_string();
    e.advance(1000);
    submit_async(&e, &key, &mockup, &so);
    let next = handle(
        &e,
        Request::new("GET", "/api/v1/jobs")
            .header("x-api-key", &key)
            .query("limit", "2")
            .query("cursor", &c),
    )
    .json_body();
    assert_eq!(next["jobs"][0]["render_uuid"], ids[2].as_str());

    let uploads = handle(
        &e,
        Request::new("GET", "/api/v1/jobs")
            .header("x-api-key", &key)
            .query("kind", "upload"),
    )
    .json_body();
    assert_eq!(uploads["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(uploads["jobs"][0]["render_uuid"], ids[2].as_str());
    let videos = handle(
        &e,
        Request::new("GET", "/api/v1/jobs")
            .header("x-api-key", &key)
            .query("kind", "video"),
    )
    .json_body();
    assert_eq!(videos, json!({ "jobs": [], "next_cursor": null }));

    for (k, v) in [
        ("limit", "0"),
        ("limit", "51"),
        ("kind", "nope"),
        ("cursor", "zz"),
        ("cursor", "00"),
    ] {
        let r = handle(
            &e,
            Request::new("GET", "/api/v1/jobs")
                .header("x-api-key", &key)
                .query(k, v),
        );
        assert_422(&r, &format!("query -> {k}"));
    }
    assert_error(
        &get(&e, &key, "/api/v1/jobs/not-a-uuid"),
        404,
        "Job not found",
    );
    assert_error(
        &get(
            &e,
            &key,
            "/api/v1/jobs/c315f78f-d2c7-4541-b240-a9372842de94",
        ),
        404,
        "Job not found",
    );
}

#[test]
fn other_accounts_get_404_on_every_route() {
    let e = env();
    let alice = create_api_key(&e, "alice", 5).unwrap();
    let bob = create_api_key(&e, "bob", 5).unwrap();
    let (mockup, so) = upload(&e, &alice);
    let job = submit_async(&e, &alice, &mockup, &so);

    let not_mockup = format!("Mockup not found: {mockup}");
    for base in ["/api/v1/mockups", "/api/v1/psd-mockups"] {
        assert_error(
            &get(&e, &bob, &format!("{base}/{mockup}")),
            404,
            &not_mockup,
        );
        assert_error(
            &get(&e, &bob, &format!("{base}/{mockup}/layers")),
            404,
            &not_mockup,
        );
        let p = handle(
            &e,
            Request::new("PATCH", &format!("{base}/{mockup}"))
                .header("x-api-key", &bob)
                .json(&json!({ "name": "mine now" })),
        );
        assert_error(&p, 404, &not_mockup);
        let d = handle(
            &e,
            Request::new("DELETE", &format!("{base}/{mockup}")).header("x-api-key", &bob),
        );
        assert_error(&d, 404, &not_mockup);
        assert_eq!(get(&e, &bob, base).json_body()["data"]["total"], 0);
    }
    assert_error(
        &post(&e, &bob, "/api/v1/renders", render_body(&mockup, &so)),
        404,
        &not_mockup,
    );
    let mut asynchronous = render_body(&mockup, &so);
    asynchronous["is_async"] = json!(true);
    assert_error(
        &post(&e, &bob, "/api/v1/renders", asynchronous),
        404,
        &not_mockup,
    );
    assert_error(
        &get(&e, &bob, &format!("/api/v1/jobs/{job}")),
        404,
        "Job not found",
    );
    assert_error(
        &post(&e, &bob, &format!("/api/v1/jobs/{job}/cancel"), json!({})),
        404,
        "Job not found",
    );
    assert_eq!(get(&e, &bob, "/api/v1/jobs").json_body()["jobs"], json!([]));
    // Alice's things are untouched.
    assert_eq!(job_status(&e, &alice, &job)["status"], "queued");
    assert_eq!(
        get(&e, &alice, &format!("/api/v1/mockups/{mockup}")).json_body()["data"]["name"],
        "Tee"
    );
    assert_eq!(balance(&e, &bob), 5);
    // The same Idempotency-Key is per account.
    let r = |k: &str| {
        handle(
            &e,
            Request::new("POST", "/api/v1/psd/upload")
                .header("x-api-key", k)
                .header("idempotency-key", "same")
                .json(&json!({ "psd_file_url": PSD_URL })),
        )
    };
    let a = r(&alice).json_body();
    let b = r(&bob).json_body();
    assert_ne!(a["data"]["uuid"], b["data"]["uuid"]);
}

#[test]
fn internal_routes_need_the_worker_token() {
    let e = env();
    for headers in [
        vec![],
        vec![("x-mockup-worker", "wrong")],
        vec![("x-mockup-worker", "")],
    ] {
        for path in ["/internal/jobs/work", "/internal/jobs/requeue"] {
            let mut req = Request::new("POST", path).json(&json!({ "worker_id": "w" }));
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            let r = handle(&e, req);
            assert_eq!(r.status, 404);
            assert_eq!(r.json_body(), json!({ "detail": "Not Found" }));
        }
    }
    // With no token stored, nothing opens them.
    let bare = TestEnv { ..env() };
    bare.store.delete("internal:worker-token").unwrap();
    let r = handle(
        &bare,
        Request::new("POST", "/internal/jobs/work").header("x-mockup-worker", ""),
    );
    assert_eq!(r.status, 404);
    assert_eq!(work(&e, "w"), json!({ "job_id": null }));
    let r = handle(
        &e,
        Request::new("POST", "/internal/jobs/requeue")
            .header("x-mockup-worker", WORKER_TOKEN)
            .json(&json!({})),
    );
    assert_422(&r, "body -> worker_id");
}

#[test]
fn any_origin_may_call_the_api() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let pre = handle(
        &e,
        Request::new("OPTIONS", "/api/v1/renders")
            .header("origin", "https://shop.example")
            .header("access-control-request-method", "POST"),
    );
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header_value("access-control-allow-origin"), Some("*"));
    let allowed = pre.header_value("access-control-allow-headers").unwrap();
    for h in [
        "x-api-key",
        "authorization",
        "content-type",
        "idempotency-key",
    ] {
        assert!(allowed.contains(h), "{allowed}");
    }
    assert!(pre
        .header_value("access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));
    // Answers and errors carry the header too.
    let ok = get(&e, &key, "/api/v1/me");
    assert_eq!(ok.header_value("access-control-allow-origin"), Some("*"));
    let denied = handle(&e, Request::new("GET", "/api/v1/me"));
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header_value("access-control-allow-origin"),
        Some("*")
    );
}

#[test]
fn unknown_routes_and_methods() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let r = get(&e, &key, "/api/v1/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.json_body(), json!({ "detail": "Not Found" }));
    let r = handle(
        &e,
        Request::new("DELETE", "/api/v1/renders").header("x-api-key", &key),
    );
    assert_eq!(r.status, 405);
    let r = handle(&e, Request::new("POST", "/health"));
    assert_eq!(r.status, 405);
}

#[test]
fn rate_limit_is_429_with_retry_information() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    e.advance(15_000); // 15 s into a minute
    for _ in 0..edge_api::accounts::RATE_LIMIT_PER_MINUTE {
        assert_eq!(get(&e, &key, "/api/v1/jobs").status, 200);
    }
    let r = get(&e, &key, "/api/v1/jobs");
    assert_eq!(r.status, 429);
    let b = r.json_body();
    assert_eq!(b["error"]["code"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(b["error"]["retry_after"], 45);
    assert_eq!(
        b["error"]["limit"],
        edge_api::accounts::RATE_LIMIT_PER_MINUTE
    );
    assert_eq!(r.header_value("retry-after"), Some("45"));
    // Another account is not affected; the next minute is open again.
    let other = create_api_key(&e, "other", 5).unwrap();
    assert_eq!(get(&e, &other, "/api/v1/jobs").status, 200);
    e.advance(45_000);
    assert_eq!(get(&e, &key, "/api/v1/jobs").status, 200);
    assert!(
        e.store.keys_with_prefix("rate:").len() <= 2,
        "old windows are deleted"
    );
}

#[test]
fn a_key_can_have_its_own_rate_limit() {
    let e = env();
    let opts = edge_api::KeyOptions {
        rate_limit_per_minute: Some(3),
    };
    let key = edge_api::create_api_key_with(&e, "small", 5, &opts).unwrap();
    for _ in 0..3 {
        assert_eq!(get(&e, &key, "/api/v1/jobs").status, 200);
    }
    let r = get(&e, &key, "/api/v1/jobs");
    assert_eq!(r.status, 429);
    assert_eq!(r.json_body()["error"]["limit"], 3);
}

#[test]
fn garbage_never_panics_or_500s() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, _) = upload(&e, &key);
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"x\"".to_vec(),
        b"{\"mockup_uuid\": 5}".to_vec(),
        format!("{{\"mockup_uuid\": \"{mockup}\", \"smart_objects\": [{{\"uuid\": \"x\"}}]}}").into_bytes(),
        format!("{{\"mockup_uuid\": \"{mockup}\", \"smart_objects\": [], \"hidden_layers\": [\"{mockup}\"]}}").into_bytes(),
        b"{\"psd_file_url\": null, \"name\": [1]}".to_vec(),
        vec![0xff, 0xfe, 0x00],
        b"{\"worker_id\": 5}".to_vec(),
    ];
    let paths = [
        ("POST", "/api/v1/renders".to_string()),
        ("POST", "/api/v1/psd/upload".to_string()),
        ("PATCH", format!("/api/v1/mockups/{mockup}")),
        ("GET", "/api/v1/mockups/%00".to_string()),
        ("POST", "/api/v1/jobs/x/cancel".to_string()),
        ("GET", "/files/".to_string()),
        ("GET", "/files/zz.png".to_string()),
        ("GET", "//".to_string()),
        ("GET", "".to_string()),
    ];
    for (m, p) in &paths {
        for b in &bodies {
            for ct in ["application/json", "application/octet-stream", "text/plain"] {
                let r = handle(
                    &e,
                    Request::new(m, p)
                        .header("x-api-key", &key)
                        .header("content-type", ct)
                        .body(b.clone()),
                );
                assert!(
                    (400..500).contains(&r.status),
                    "{m} {p} {ct} -> {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
            }
        }
    }
}

#[test]
fn big_blobs_are_stored_in_chunks() {
    let e = env();
    let data: Vec<u8> = (0..(5 << 19) + 7).map(|i| (i * 31 % 251) as u8).collect();
    let id =
        edge_api::files::put(&e, "acct", &data, "application/octet-stream", false, None).unwrap();
    let keys = e.store.keys_with_prefix(&format!("blob:{id}"));
    // Manifest + 3 chunks (1 MiB, 1 MiB, 0.5 MiB + 7 bytes).
    assert_eq!(keys.len(), 4, "{keys:?}");
    for k in &keys {
        assert!(e.store.get(k).unwrap().unwrap().len() <= edge_api::files::CHUNK_SIZE);
    }
    let (m, back) = edge_api::files::get(&e, &id).unwrap().unwrap();
    assert_eq!(back, data);
    assert_eq!(m.chunks, 3);
    // Private blobs are never served.
    assert_eq!(
        handle(&e, Request::new("GET", &format!("/files/{id}"))).status,
        404
    );
    edge_api::files::delete(&e, &id).unwrap();
    assert!(e.store.keys_with_prefix(&format!("blob:{id}")).is_empty());
}

#[test]
fn expired_results_are_swept_without_being_fetched() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let url = post(&e, &key, "/api/v1/renders", render_body(&mockup, &so)).json_body()["data"]
        ["print_files"][0]["export_path"]
        .as_str()
        .unwrap()
        .to_string();
    let id = file_path(&url)[7..39].to_string();
    assert_eq!(e.store.keys_with_prefix(&format!("blob:{id}")).len(), 2);
    e.advance(6 * 24 * 3600 * 1000);
    work(&e, "w");
    assert_eq!(
        e.store.keys_with_prefix(&format!("blob:{id}")).len(),
        2,
        "still retained"
    );
    e.advance(3 * 24 * 3600 * 1000);
    // A sweep covers a few days per call; the host calls work often.
    for _ in 0..3 {
        work(&e, "w");
    }
    assert!(e.store.keys_with_prefix(&format!("blob:{id}")).is_empty());
    assert!(e.store.keys_with_prefix("expiry:2").is_empty());
    // The template (no retention) is untouched.
    assert_eq!(
        get(&e, &key, &format!("/api/v1/mockups/{mockup}")).status,
        200
    );
    assert_eq!(
        post(&e, &key, "/api/v1/renders", render_body(&mockup, &so)).status,
        200
    );
}

#[test]
fn text_layer_uuids_are_checked() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let mut b = render_body(&mockup, &so);
    let ghost = "128394ee-6758-4f2f-aa36-e2b19b152bd9";
    b["text_layers"] = json!([{ "uuid": ghost, "text": "Hi" }]);
    assert_error(
        &post(&e, &key, "/api/v1/renders", b),
        400,
        &format!("Text layer {ghost} not found in mockup"),
    );
    assert_eq!(balance(&e, &key), 5);
}

#[test]
fn raw_psd_body_is_an_upload_whatever_its_content_type() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    // What `curl --data-binary @file.psd` sends.
    let r = handle(
        &e,
        Request::new("POST", "/api/v1/psd/upload")
            .header("x-api-key", &key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(fixture()),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json_body()["data"]["name"], "Untitled mockup");
}

#[test]
fn cancelled_or_failed_direct_uploads_leave_no_file() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let submit = |body: Vec<u8>| {
        let r = handle(
            &e,
            Request::new("POST", "/api/v1/psd/upload")
                .header("x-api-key", &key)
                .header("content-type", "application/octet-stream")
                .query("is_async", "true")
                .body(body),
        );
        assert_eq!(r.status, 202);
        r.json_body()["job_id"].as_str().unwrap().to_string()
    };
    let id = submit(fixture());
    assert!(!e.store.keys_with_prefix("blob:").is_empty());
    assert_eq!(
        post(&e, &key, &format!("/api/v1/jobs/{id}/cancel"), json!({})).status,
        200
    );
    assert!(e.store.keys_with_prefix("blob:").is_empty());
    let id = submit(b"garbage".to_vec());
    assert_eq!(work(&e, "w")["status"], "failed");
    assert_eq!(job_status(&e, &key, &id)["status"], "failed");
    assert!(e.store.keys_with_prefix("blob:").is_empty());
}

#[test]
fn job_index_spans_pages_without_losing_order() {
    let e = env();
    let key = create_api_key(&e, "main", 1000).unwrap();
    let (mockup, so) = upload(&e, &key);
    let n = jobs::INDEX_PAGE + 44;
    let mut ids = Vec::new();
    for i in 0..n {
        // Some jobs share a millisecond: the id breaks the tie.
        if i % 3 != 0 {
            e.advance(1000);
        }
        ids.push(submit_async(&e, &key, &mockup, &so));
    }
    let pages = e.store.keys_with_prefix("idx:jobs:");
    assert_eq!(pages.len(), 3, "two pages and the head: {pages:?}");
    for p in pages.iter().filter(|p| !p.ends_with(":head")) {
        let v: Value = serde_json::from_slice(&e.store.get(p).unwrap().unwrap()).unwrap();
        assert!(v.as_array().unwrap().len() <= jobs::INDEX_PAGE);
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = Request::new("GET", "/api/v1/jobs")
            .header("x-api-key", &key)
            .query("limit", "50");
        if let Some(c) = &cursor {
            req = req.query("cursor", c);
        }
        let b = handle(&e, req).json_body();
        for j in b["jobs"].as_array().unwrap() {
            seen.push((
                j["created_at"].as_str().unwrap().to_string(),
                j["render_uuid"].as_str().unwrap().to_string(),
            ));
        }
        match b["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), n);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, ties by id");
    let mut all: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    all.sort();
    ids.sort();
    assert_eq!(all, ids, "every job exactly once");
}

#[test]
fn idempotency_keys_are_forgotten_after_a_day() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let req = || {
        Request::new("POST", "/api/v1/renders")
            .header("x-api-key", &key)
            .header("idempotency-key", "daily")
            .json(&render_body(&mockup, &so))
    };
    let first = handle(&e, req());
    e.advance(23 * 3600 * 1000);
    work(&e, "w");
    assert_eq!(handle(&e, req()).body, first.body, "still remembered");
    assert_eq!(balance(&e, &key), 4);
    e.advance(2 * 24 * 3600 * 1000);
    for _ in 0..3 {
        work(&e, "w");
    }
    assert!(e.store.keys_with_prefix("idem:").is_empty());
    let again = handle(&e, req());
    assert_eq!(again.status, 200);
    assert_ne!(again.body, first.body);
    assert_eq!(balance(&e, &key), 3);
}

#[test]
fn big_async_requests_keep_the_job_record_small() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    // Noise does not compress: a PNG of about 160 KB.
    let (w, h) = (200u32, 200u32);
    let noise: Vec<u8> = (0..w * h * 4)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let png = compositor::encode::png_rgba8(&noise, w, h).unwrap();
    assert!(png.len() > jobs::INLINE_PAYLOAD_MAX);
    let b64 = {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in png.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    };
    let body = json!({
        "mockup_uuid": mockup,
        "is_async": true,
        "smart_objects": [{ "uuid": so, "asset": { "base64": b64 } }],
        "export_options": { "image_format": "png", "image_size": 160 },
    });
    let r = post(&e, &key, "/api/v1/renders", body);
    assert_eq!(r.status, 202);
    let id = r.json_body()["job_id"].as_str().unwrap().to_string();
    let record = e.store.get(&format!("job:{id}")).unwrap().unwrap();
    assert!(record.len() < 4096, "record is {} bytes", record.len());
    let json_blobs = |e: &TestEnv| {
        e.store
            .keys_with_prefix("blob:")
            .into_iter()
            .filter(|k| k.matches(':').count() == 1)
            .filter(|k| {
                String::from_utf8_lossy(&e.store.get(k).unwrap().unwrap())
                    .contains("application/json")
            })
            .count()
    };
    assert_eq!(json_blobs(&e), 1);
    assert_eq!(work(&e, "w")["status"], "succeeded");
    assert_eq!(json_blobs(&e), 0, "the request blob goes with the job");
    let j = job_status(&e, &key, &id);
    let f = handle(
        &e,
        Request::new("GET", &file_path(j["result_url"].as_str().unwrap())),
    );
    assert_eq!(f.status, 200);
}

/// The operator's retention (`mockup serve --retention-days`) decides how
/// long a result stays downloadable.
#[test]
fn result_retention_follows_the_operators_setting() {
    let e = env();
    let day = 24 * 3600 * 1000u64;
    e.store
        .set(
            edge_api::files::RETENTION_CONFIG_KEY,
            (2 * day).to_string().as_bytes(),
        )
        .unwrap();
    let key = create_api_key(&e, "main", 3).unwrap();
    let (mockup, so) = upload(&e, &key);
    let r = post(&e, &key, "/api/v1/renders", render_body(&mockup, &so));
    assert_eq!(r.status, 200);
    let url = r.json_body()["data"]["print_files"][0]["export_path"]
        .as_str()
        .unwrap()
        .to_string();
    e.advance(day);
    assert_eq!(
        handle(&e, Request::new("GET", &file_path(&url))).status,
        200
    );
    e.advance(day + 1000);
    assert_eq!(
        handle(&e, Request::new("GET", &file_path(&url))).status,
        404
    );
}

/// A key may have at most SYNC_RENDERS_PER_KEY synchronous renders running
/// at once; a slot left by a crashed host frees itself when its lease ends.
#[test]
fn concurrent_sync_renders_per_key_are_limited() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    let (mockup, so) = upload(&e, &key);
    let hash = {
        let secret = key.trim_start_matches("sm_");
        use sha2::Digest;
        sha2::Sha256::digest(secret.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    // Every slot held by live renders (as other requests would hold them).
    let until = (e.now_ms() + 60_000).to_string();
    for n in 0..edge_api::accounts::SYNC_RENDERS_PER_KEY {
        e.store
            .set(&format!("busy:{hash}:{n}"), until.as_bytes())
            .unwrap();
    }
    let r = post(&e, &key, "/api/v1/renders", render_body(&mockup, &so));
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json_body()["error"]["limit"],
        edge_api::accounts::SYNC_RENDERS_PER_KEY as i64
    );
    assert_eq!(balance(&e, &key), 10, "nothing charged");
    // The leases run out (a crashed holder): renders go through again and
    // release their slot when done.
    e.advance(60_001);
    let r = post(&e, &key, "/api/v1/renders", render_body(&mockup, &so));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let left = e.store.keys_with_prefix(&format!("busy:{hash}:"));
    assert_eq!(
        left.len(),
        edge_api::accounts::SYNC_RENDERS_PER_KEY - 1,
        "{left:?}"
    );
}

#[test]
fn template_download_is_the_uploaded_file_and_owner_scoped() {
    let e = env();
    let key = create_api_key(&e, "main", 10).unwrap();
    let other = create_api_key(&e, "other", 10).unwrap();
    let (uuid, _) = upload(&e, &key);
    for base in ["/api/v1/mockups", "/api/v1/psd-mockups"] {
        let r = get(&e, &key, &format!("{base}/{uuid}/psd"));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.header_value("content-type"),
            Some("image/vnd.adobe.photoshop")
        );
        // Byte for byte what was uploaded (the fixture the URL served).
        assert!(r.body == fixture(), "the template bytes differ");
    }
    // Another account, an unknown uuid and a malformed id are all 404s.
    let r = get(&e, &other, &format!("/api/v1/mockups/{uuid}/psd"));
    assert_error(&r, 404, &format!("Mockup not found: {uuid}"));
    let ghost = "00000000-0000-4000-8000-000000000000";
    let r = get(&e, &key, &format!("/api/v1/mockups/{ghost}/psd"));
    assert_error(&r, 404, &format!("Mockup not found: {ghost}"));
    assert_eq!(get(&e, &key, "/api/v1/mockups/nope/psd").status, 404);
    // No key: 401; wrong method: 405.
    let r = handle(
        &e,
        Request::new("GET", &format!("/api/v1/mockups/{uuid}/psd")),
    );
    assert_eq!(r.status, 401);
    let r = post(&e, &key, &format!("/api/v1/mockups/{uuid}/psd"), json!({}));
    assert_eq!(r.status, 405);
}
