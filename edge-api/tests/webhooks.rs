//! Webhooks over `handle`: endpoint management, events from job outcomes,
//! signed deliveries, retries with backoff, auto-disable, replay, secret
//! rotation, and a host dying mid-send. The host's delivery loop is played
//! by calling `POST /internal/webhooks/deliver` with the fake clock.

mod common;

use common::*;
use edge_api::webhooks::{RetryPolicy, RETRY_CONFIG_KEY};
use edge_api::{create_api_key, handle, Env, Request, Response, Store};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const HOOK_URL: &str = "https://hooks.test/endpoint";
const JOB_HOOK_URL: &str = "https://hooks.test/per-job";

fn deliver(e: &TestEnv) -> Value {
    let r = handle(
        e,
        Request::new("POST", "/internal/webhooks/deliver").header("x-mockup-worker", WORKER_TOKEN),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json_body()
}

/// Runs the delivery loop until nothing is due; returns how many attempts ran.
fn deliver_all(e: &TestEnv) -> usize {
    let mut n = 0;
    while !deliver(e)["delivery_id"].is_null() {
        n += 1;
        assert!(n < 1000, "the delivery loop does not settle");
    }
    n
}

fn create_endpoint(e: &TestEnv, key: &str, events: Value) -> Value {
    let r = post(
        e,
        key,
        "/api/v1/webhook-endpoints",
        json!({ "url": HOOK_URL, "event_types": events, "description": "orders" }),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json_body()
}

fn patch(e: &TestEnv, key: &str, path: &str, body: Value) -> Response {
    handle(
        e,
        Request::new("PATCH", path)
            .header("x-api-key", key)
            .json(&body),
    )
}

/// Verifies a delivery as the SDK's `verify_webhook_signature` does:
/// hex HMAC-SHA256 of "{timestamp}.{raw_body}" under `secret`, computed
/// here with the `hmac` crate directly.
fn signed_with(p: &Posted, header: &str, secret: &str) -> bool {
    let ts = p.header("x-sudomock-timestamp").expect("timestamp header");
    let Some(sig) = p.header(header) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(&p.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    want == sig
}

fn body_of(p: &Posted) -> Value {
    serde_json::from_slice(&p.body).unwrap()
}

fn fast_retries(e: &TestEnv, policy: RetryPolicy) {
    e.store
        .set(RETRY_CONFIG_KEY, &serde_json::to_vec(&policy).unwrap())
        .unwrap();
}

#[test]
fn endpoint_management_and_validation() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let ep = create_endpoint(&e, &key, json!(["render.succeeded", "render.failed"]));
    let id = ep["id"].as_str().unwrap().to_string();
    let secret = ep["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 38,
        "{secret}"
    );
    assert_eq!(ep["enabled"], true);
    assert_eq!(
        ep["event_types"],
        json!(["render.succeeded", "render.failed"])
    );
    assert_eq!(ep["event_naming"], "legacy");

    // The secret is shown once: afterwards masked to its last four.
    let masked = format!("whsec_****{}", &secret[secret.len() - 4..]);
    let list = get(&e, &key, "/api/v1/webhook-endpoints").json_body();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["secret"], masked.as_str());
    let one = get(&e, &key, &format!("/api/v1/webhook-endpoints/{id}")).json_body();
    assert_eq!(one["secret"], masked.as_str());
    assert_eq!(one["description"], "orders");

    let p = patch(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}"),
        json!({ "event_types": [], "enabled": false, "description": null }),
    );
    assert_eq!(p.status, 200);
    let pj = p.json_body();
    assert_eq!(pj["event_types"], json!([]));
    assert_eq!(pj["enabled"], false);
    assert_eq!(pj["description"], Value::Null);

    // Validation, with the spec's field paths.
    let bad = |body: Value, field: &str| {
        assert_422(&post(&e, &key, "/api/v1/webhook-endpoints", body), field)
    };
    bad(json!({ "event_types": [] }), "body -> url");
    bad(json!({ "url": "ftp://x.test/a" }), "body -> url");
    bad(json!({ "url": "https://" }), "body -> url");
    bad(json!({ "url": 7 }), "body -> url");
    bad(
        json!({ "url": HOOK_URL, "event_types": ["render.succeeded", "render.exploded"] }),
        "body -> event_types -> 1",
    );
    bad(
        json!({ "url": HOOK_URL, "event_types": "render.succeeded" }),
        "body -> event_types",
    );
    bad(
        json!({ "url": HOOK_URL, "description": "x".repeat(256) }),
        "body -> description",
    );
    bad(
        json!({ "url": HOOK_URL, "event_naming": "new" }),
        "body -> event_naming",
    );
    assert_422(
        &patch(
            &e,
            &key,
            &format!("/api/v1/webhook-endpoints/{id}"),
            json!({ "enabled": "yes" }),
        ),
        "body -> enabled",
    );

    // A limit per account.
    for _ in 1..20 {
        create_endpoint(&e, &key, json!([]));
    }
    let over = post(
        &e,
        &key,
        "/api/v1/webhook-endpoints",
        json!({ "url": HOOK_URL, "event_types": [] }),
    );
    assert_eq!(over.status, 400);

    // Another account sees none of it.
    let other = create_api_key(&e, "other", 5).unwrap();
    assert_eq!(
        get(&e, &other, "/api/v1/webhook-endpoints").json_body(),
        json!([])
    );
    for (m, path) in [
        ("GET", format!("/api/v1/webhook-endpoints/{id}")),
        ("PATCH", format!("/api/v1/webhook-endpoints/{id}")),
        ("DELETE", format!("/api/v1/webhook-endpoints/{id}")),
        (
            "POST",
            format!("/api/v1/webhook-endpoints/{id}/rotate-secret"),
        ),
        ("POST", format!("/api/v1/webhook-endpoints/{id}/test")),
        ("GET", format!("/api/v1/webhook-endpoints/{id}/deliveries")),
        (
            "POST",
            format!("/api/v1/webhook-endpoints/{id}/deliveries/replay-failed"),
        ),
        (
            "POST",
            format!("/api/v1/webhook-endpoints/{id}/deliveries/whd_x/replay"),
        ),
    ] {
        let r = handle(
            &e,
            Request::new(m, &path)
                .header("x-api-key", &other)
                .json(&json!({})),
        );
        assert_error(&r, 404, "Webhook endpoint not found");
    }

    let d = handle(
        &e,
        Request::new("DELETE", &format!("/api/v1/webhook-endpoints/{id}"))
            .header("x-api-key", &key),
    );
    assert_eq!(d.status, 200);
    assert_eq!(
        get(&e, &key, &format!("/api/v1/webhook-endpoints/{id}")).status,
        404
    );
    assert_eq!(
        get(&e, &key, "/api/v1/webhook-endpoints")
            .json_body()
            .as_array()
            .unwrap()
            .len(),
        19
    );
}

#[test]
fn event_types_and_the_delivery_feed() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let types = get(&e, &key, "/api/v1/webhook-endpoints/events").json_body();
    let names: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event_type"].as_str().unwrap())
        .collect();
    for kind in ["render", "upload", "video"] {
        for outcome in ["succeeded", "failed", "cancelled"] {
            assert!(
                names.contains(&format!("{kind}.{outcome}").as_str()),
                "{names:?}"
            );
        }
    }
    // With a filter it is the feed of deliveries (the SDK's `events()`).
    let feed = |q: &[(&str, &str)]| {
        let mut r =
            Request::new("GET", "/api/v1/webhook-endpoints/events").header("x-api-key", &key);
        for (k, v) in q {
            r = r.query(k, v);
        }
        handle(&e, r)
    };
    assert_eq!(feed(&[("limit", "10")]).json_body(), json!([]));
    assert_422(&feed(&[("limit", "0")]), "query -> limit");
    assert_422(&feed(&[("limit", "201")]), "query -> limit");

    let ep = create_endpoint(&e, &key, json!([]));
    let t = post(
        &e,
        &key,
        &format!(
            "/api/v1/webhook-endpoints/{}/test",
            ep["id"].as_str().unwrap()
        ),
        json!({}),
    );
    assert_eq!(t.status, 202);
    assert_eq!(t.json_body()["event_type"], "webhook.test");
    deliver_all(&e);
    let rows = feed(&[("limit", "10")]).json_body();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["status"], "succeeded");
    assert_eq!(rows[0]["http_status"], 200);
    assert_eq!(rows[0]["attempt"], 1);
    assert_eq!(feed(&[("status", "failed")]).json_body(), json!([]));
    assert_eq!(
        feed(&[("event_type", "webhook.test")])
            .json_body()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let posts = e.posts.borrow();
    assert_eq!(posts.len(), 1);
    assert!(signed_with(
        &posts[0],
        "x-sudomock-signature",
        ep["secret"].as_str().unwrap()
    ));
}

#[test]
fn an_async_render_notifies_its_endpoints_and_its_own_webhook_signed() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let ep = create_endpoint(&e, &key, json!(["render.succeeded"]));
    let uploads_only = create_endpoint(&e, &key, json!(["upload.succeeded"]));
    let mut body = render_body(&mockup, &so);
    body["is_async"] = json!(true);
    body["webhook"] = json!({ "url": JOB_HOOK_URL });
    let r = post(&e, &key, "/api/v1/renders", body.clone());
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let ack = r.json_body();
    let job = ack["job_id"].as_str().unwrap().to_string();
    // The account's default secret is shown in full the first time.
    let default_secret = ack["webhook"]["secret"].as_str().unwrap().to_string();
    assert!(default_secret.starts_with("whsec_") && !default_secret.contains('*'));
    assert_eq!(ack["webhook"]["url"], JOB_HOOK_URL);
    let again = post(&e, &key, "/api/v1/renders", body).json_body();
    assert!(again["webhook"]["secret"]
        .as_str()
        .unwrap()
        .contains("****"));

    // Nothing is sent before the job is terminal.
    assert_eq!(deliver_all(&e), 0);
    assert!(e.posts.borrow().is_empty());
    assert_eq!(work(&e, "w")["status"], "succeeded");
    assert_eq!(work(&e, "w")["status"], "succeeded");
    assert_eq!(deliver_all(&e), 4, "two jobs x (endpoint + own webhook)");

    let posts = e.posts.borrow();
    let for_job: Vec<&Posted> = posts
        .iter()
        .filter(|p| body_of(p)["data"]["job_id"] == job.as_str())
        .collect();
    assert_eq!(for_job.len(), 2);
    let to_endpoint = for_job.iter().find(|p| p.url == HOOK_URL).unwrap();
    let to_job_hook = for_job.iter().find(|p| p.url == JOB_HOOK_URL).unwrap();
    assert!(signed_with(
        to_endpoint,
        "x-sudomock-signature",
        ep["secret"].as_str().unwrap()
    ));
    assert!(signed_with(
        to_job_hook,
        "x-sudomock-signature",
        &default_secret
    ));
    assert!(!signed_with(
        to_job_hook,
        "x-sudomock-signature",
        ep["secret"].as_str().unwrap()
    ));
    assert!(!posts.iter().any(|p| signed_with(
        p,
        "x-sudomock-signature",
        uploads_only["secret"].as_str().unwrap()
    )));
    // One event, one id, whoever receives it; the body is the job object.
    let b = body_of(to_endpoint);
    assert_eq!(b, body_of(to_job_hook));
    assert_eq!(b["type"], "render.succeeded");
    assert!(b["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(to_endpoint.header("x-sudomock-event-id"), b["id"].as_str());
    assert_eq!(
        to_endpoint.header("x-sudomock-event"),
        Some("render.succeeded")
    );
    assert_eq!(b["data"]["status"], "succeeded");
    assert_eq!(b["data"]["render_uuid"], job.as_str());
    assert_eq!(
        b["data"]["result_url"],
        job_status(&e, &key, &job)["result_url"]
    );
    let ts: u64 = to_endpoint
        .header("x-sudomock-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ts, e.now_ms() / 1000);

    // The default secret is readable masked, and rotates.
    let s = get(&e, &key, "/api/v1/webhook-secret").json_body();
    assert!(s["secret"]
        .as_str()
        .unwrap()
        .ends_with(&default_secret[default_secret.len() - 4..]));
    let rotated = post(&e, &key, "/api/v1/webhook-secret/rotate", json!({})).json_body();
    assert_ne!(rotated["secret"], default_secret.as_str());
}

#[test]
fn cancelled_and_failed_jobs_and_uploads_are_events_too() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    create_endpoint(&e, &key, json!([]));
    let cancelled = submit_async(&e, &key, &mockup, &so);
    post(
        &e,
        &key,
        &format!("/api/v1/jobs/{cancelled}/cancel"),
        json!({}),
    );
    let mut bad = render_body(&mockup, &so);
    bad["is_async"] = json!(true);
    bad["smart_objects"][0]["asset"]["url"] = json!("https://art.test/missing.png");
    post(&e, &key, "/api/v1/renders", bad);
    let up = post(
        &e,
        &key,
        "/api/v1/psd/upload",
        json!({ "psd_file_url": PSD_URL, "is_async": true, "webhook": { "url": JOB_HOOK_URL } }),
    );
    assert_eq!(up.status, 202);
    while !work(&e, "w")["job_id"].is_null() {}
    deliver_all(&e);
    let mut seen: Vec<(String, String)> = e
        .posts
        .borrow()
        .iter()
        .map(|p| {
            (
                p.url.clone(),
                body_of(p)["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (HOOK_URL.to_string(), "render.cancelled".to_string()),
            (HOOK_URL.to_string(), "render.failed".to_string()),
            (HOOK_URL.to_string(), "upload.succeeded".to_string()),
            (JOB_HOOK_URL.to_string(), "upload.succeeded".to_string()),
        ]
    );
    // A malformed per-request webhook is the submitter's 422.
    let mut body = render_body(&mockup, &so);
    body["is_async"] = json!(true);
    body["webhook"] = json!({ "url": "not a url" });
    assert_422(
        &post(&e, &key, "/api/v1/renders", body.clone()),
        "body -> webhook -> url",
    );
    body["webhook"] = json!("https://x.test");
    assert_422(&post(&e, &key, "/api/v1/renders", body), "body -> webhook");
}

#[test]
fn failures_retry_with_backoff_until_delivered() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let ep = create_endpoint(&e, &key, json!([]));
    let id = ep["id"].as_str().unwrap();
    e.post_replies
        .borrow_mut()
        .extend([Err("connection timed out".to_string()), Ok(503), Ok(204)]);
    post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/test"),
        json!({}),
    );
    let log = |e: &TestEnv| {
        get(
            e,
            &key,
            &format!("/api/v1/webhook-endpoints/{id}/deliveries"),
        )
        .json_body()[0]
            .clone()
    };

    assert_eq!(deliver(&e)["status"], "failed");
    let row = log(&e);
    assert_eq!(row["attempt"], 1);
    assert_eq!(row["http_status"], Value::Null);
    assert!(row["last_error"].as_str().unwrap().contains("timed out"));
    // Not due again at once: the first retry waits 10 s +-20%.
    assert!(deliver(&e)["delivery_id"].is_null());
    e.advance(7_900);
    assert!(deliver(&e)["delivery_id"].is_null());
    e.advance(4_200);
    assert_eq!(deliver(&e)["status"], "failed");
    let row = log(&e);
    assert_eq!(row["attempt"], 2);
    assert_eq!(row["http_status"], 503);
    // The second retry waits 30 s +-20%.
    e.advance(23_900);
    assert!(deliver(&e)["delivery_id"].is_null());
    e.advance(12_200);
    assert_eq!(deliver(&e)["status"], "succeeded");
    let row = log(&e);
    assert_eq!(row["attempt"], 3);
    assert_eq!(row["http_status"], 204);
    assert_eq!(row["last_error"], Value::Null);

    // Every attempt carried the same event, freshly signed.
    let posts = e.posts.borrow();
    assert_eq!(posts.len(), 3);
    let secret = ep["secret"].as_str().unwrap();
    for p in posts.iter() {
        assert!(signed_with(p, "x-sudomock-signature", secret));
        assert_eq!(p.body, posts[0].body);
    }
    assert_ne!(
        posts[0].header("x-sudomock-timestamp"),
        posts[2].header("x-sudomock-timestamp")
    );
    let ep_now = get(&e, &key, &format!("/api/v1/webhook-endpoints/{id}")).json_body();
    assert_eq!(
        ep_now["consecutive_failures"], 0,
        "a success resets the run"
    );
}

#[test]
fn a_failing_endpoint_dies_is_disabled_and_comes_back_with_replay() {
    let e = env();
    fast_retries(
        &e,
        RetryPolicy {
            base_ms: 1_000,
            max_attempts: 3,
            disable_after_failures: 3,
            disable_after_ms: 0,
            ..RetryPolicy::default()
        },
    );
    let key = create_api_key(&e, "main", 5).unwrap();
    let ep = create_endpoint(&e, &key, json!([]));
    let id = ep["id"].as_str().unwrap().to_string();
    e.post_replies
        .borrow_mut()
        .extend([Ok(500), Ok(500), Ok(500)]);
    post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/test"),
        json!({}),
    );
    for _ in 0..3 {
        deliver_all(&e);
        e.advance(10_000);
    }
    let rows = get(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries"),
    )
    .json_body();
    assert_eq!(rows[0]["status"], "dead");
    assert_eq!(rows[0]["attempt"], 3);
    assert!(rows[0]["last_error"].as_str().unwrap().contains("HTTP 500"));
    let now = get(&e, &key, &format!("/api/v1/webhook-endpoints/{id}")).json_body();
    assert_eq!(now["enabled"], false);
    let reason = now["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains("3 consecutive failed deliveries"),
        "{reason}"
    );

    // Disabled: no test, no replay, and new events skip it.
    let t = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/test"),
        json!({}),
    );
    assert_eq!(t.status, 409);
    let r = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries/replay-failed"),
        json!({}),
    );
    assert_eq!(r.status, 409);

    // Re-enabled, the dead delivery is replayed and arrives.
    let p = patch(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}"),
        json!({ "enabled": true }),
    );
    assert_eq!(p.json_body()["disabled_reason"], Value::Null);
    let r = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries/replay-failed"),
        json!({}),
    );
    assert_eq!(r.status, 202);
    assert_eq!(r.json_body()["replayed"], 1);
    assert_eq!(deliver_all(&e), 1);
    let rows = get(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries"),
    )
    .json_body();
    assert_eq!(rows[0]["status"], "succeeded");
    let posts = e.posts.borrow();
    assert_eq!(posts.len(), 4);
    assert_eq!(
        posts[3].body, posts[0].body,
        "a replay resends the same event"
    );
}

#[test]
fn replay_one_delivery_and_rotate_the_secret_with_overlap() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let ep = create_endpoint(&e, &key, json!([]));
    let id = ep["id"].as_str().unwrap().to_string();
    let old = ep["secret"].as_str().unwrap().to_string();
    let t = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/test"),
        json!({}),
    )
    .json_body();
    let delivery = t["id"].as_str().unwrap().to_string();
    deliver_all(&e);

    let rotated = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/rotate-secret"),
        json!({}),
    );
    assert_eq!(rotated.status, 200);
    let rj = rotated.json_body();
    let new = rj["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(rj["previous_secret_expires_at"].is_string());

    let replay = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries/{delivery}/replay"),
        json!({}),
    );
    assert_eq!(replay.status, 202);
    deliver_all(&e);
    {
        let posts = e.posts.borrow();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[1].body, posts[0].body);
        // Signed with the new secret; the old one still signs, separately,
        // during the overlap.
        assert!(signed_with(&posts[1], "x-sudomock-signature", &new));
        assert!(!signed_with(&posts[1], "x-sudomock-signature", &old));
        assert!(signed_with(
            &posts[1],
            "x-sudomock-signature-previous",
            &old
        ));
    }
    // After the overlap, only the new secret.
    e.advance(24 * 3600 * 1000 + 1);
    post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/test"),
        json!({}),
    );
    deliver_all(&e);
    let posts = e.posts.borrow();
    assert!(signed_with(&posts[2], "x-sudomock-signature", &new));
    assert!(posts[2].header("x-sudomock-signature-previous").is_none());
    drop(posts);

    // A rotation without overlap drops the old secret at once.
    let r = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/rotate-secret?overlap_seconds=0"),
        json!({}),
    );
    assert_eq!(r.json_body()["previous_secret_expires_at"], Value::Null);
    // Unknown or foreign deliveries are 404.
    let r = post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries/whd_nope/replay"),
        json!({}),
    );
    assert_error(&r, 404, "Delivery not found");
}

#[test]
fn a_host_dying_mid_send_loses_no_delivery() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let ep = create_endpoint(&e, &key, json!(["render.succeeded"]));
    let job = submit_async(&e, &key, &mockup, &so);
    assert_eq!(work(&e, "w")["status"], "succeeded");
    e.crash_on_post.set(true);
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(&e)));
    assert!(died.is_err());
    assert!(e.posts.borrow().is_empty());
    // The delivery is leased to the dead host: not sent twice at once...
    assert!(deliver(&e)["delivery_id"].is_null());
    // ...but taken over when the lease ends.
    e.advance(edge_api::webhooks::SEND_LEASE_MS + 1);
    assert_eq!(deliver(&e)["status"], "succeeded");
    let posts = e.posts.borrow();
    assert_eq!(posts.len(), 1);
    assert_eq!(body_of(&posts[0])["data"]["job_id"], job.as_str());
    assert!(signed_with(
        &posts[0],
        "x-sudomock-signature",
        ep["secret"].as_str().unwrap()
    ));
}

#[test]
fn a_restarted_host_hands_back_its_deliveries_at_once() {
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let ep = create_endpoint(&e, &key, json!([]));
    let id = ep["id"].as_str().unwrap();
    post(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/test"),
        json!({}),
    );
    e.crash_on_post.set(true);
    let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handle(
            &e,
            Request::new("POST", "/internal/webhooks/deliver")
                .header("x-mockup-worker", WORKER_TOKEN)
                .header("x-mockup-worker-id", "host-a"),
        )
    }));
    assert!(died.is_err());
    assert!(deliver(&e)["delivery_id"].is_null(), "leased to host-a");
    // Another host's release changes nothing; host-a's own frees it now,
    // with the cut-short attempt not counted.
    let release = |worker: &str| {
        handle(
            &e,
            Request::new("POST", "/internal/webhooks/release")
                .header("x-mockup-worker", WORKER_TOKEN)
                .json(&json!({ "worker_id": worker })),
        )
        .json_body()
    };
    assert_eq!(release("host-b")["released"], json!([]));
    assert_eq!(release("host-a")["released"].as_array().unwrap().len(), 1);
    assert_eq!(deliver(&e)["status"], "succeeded");
    let rows = get(
        &e,
        &key,
        &format!("/api/v1/webhook-endpoints/{id}/deliveries"),
    )
    .json_body();
    assert_eq!(rows[0]["attempt"], 1);
    assert_eq!(e.posts.borrow().len(), 1);
}

#[test]
fn the_outbox_survives_a_crash_before_the_terminal_write() {
    // The worker notes the event, then dies before storing the terminal
    // state: nothing is sent for a job that is not terminal, and once the
    // job does finish (after its lease runs out) its event goes out once.
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    create_endpoint(&e, &key, json!([]));
    let job = submit_async(&e, &key, &mockup, &so);
    edge_api::webhooks::note_terminal(&e, &job).unwrap();
    assert_eq!(deliver_all(&e), 0, "queued: no event yet");
    assert_eq!(work(&e, "w")["status"], "succeeded");
    assert_eq!(deliver_all(&e), 1);
    // Draining again creates nothing new: one event, one delivery.
    edge_api::webhooks::note_terminal(&e, &job).unwrap();
    assert_eq!(deliver_all(&e), 0);
    assert_eq!(e.posts.borrow().len(), 1);
}

#[test]
fn an_endpoint_hears_only_of_events_after_its_creation() {
    // A job finished before the endpoint existed, but its outbox entry is
    // drained after: the new endpoint must not receive it.
    let e = env();
    let key = create_api_key(&e, "main", 5).unwrap();
    let (mockup, so) = upload(&e, &key);
    let early = submit_async(&e, &key, &mockup, &so);
    assert_eq!(work(&e, "w")["status"], "succeeded");
    e.advance(1000);
    create_endpoint(&e, &key, json!([]));
    let late = submit_async(&e, &key, &mockup, &so);
    assert_eq!(work(&e, "w")["status"], "succeeded");
    deliver_all(&e);
    let jobs: Vec<Value> = e
        .posts
        .borrow()
        .iter()
        .map(|p| body_of(p)["data"]["job_id"].clone())
        .collect();
    assert_eq!(jobs, vec![json!(late)], "not {early}");
}

#[test]
fn the_deliver_route_needs_the_worker_token() {
    let e = env();
    let r = handle(&e, Request::new("POST", "/internal/webhooks/deliver"));
    assert_eq!(r.status, 404);
    let r = handle(
        &e,
        Request::new("POST", "/internal/webhooks/deliver").header("x-mockup-worker", "guess"),
    );
    assert_eq!(r.status, 404);
}
