//! A throwaway HTTP/1.1 server around [`edge_api::handle`], for trying the
//! API (and the official SDKs) natively without the Spin host.
//!
//! `cargo run -p edge-api --example dev_server -- [PORT] [FIXTURE_DIR]`
//!
//! One thread, one connection at a time, an in-memory store that is gone at
//! exit. Outbound fetches are limited to `http://fixtures.local/<file>`,
//! served from FIXTURE_DIR. After every request the worker runs until the
//! queue is empty, so async jobs finish before the next poll. This is not
//! the production host: it has no timeouts, limits or TLS.

use edge_api::{create_api_key, handle, Env, MemoryStore, Request, Store};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

struct DevEnv {
    store: MemoryStore,
    fixtures: PathBuf,
    base: String,
}

impl Env for DevEnv {
    fn store(&self) -> &dyn Store {
        &self.store
    }
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let name = url
            .strip_prefix("http://fixtures.local/")
            .filter(|n| !n.contains(".."))
            .ok_or("outbound fetches are disabled in the dev server")?;
        std::fs::read(self.fixtures.join(name)).map_err(|e| format!("{name}: {e}"))
    }
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
    fn random(&self, buf: &mut [u8]) {
        let mut f = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
        f.read_exact(buf).expect("/dev/urandom");
    }
    fn base_url(&self) -> String {
        self.base.clone()
    }
}

/// Reads one request; `None` on a malformed one.
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut req = Request::new(&method, &target);
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        if k.eq_ignore_ascii_case("content-length") {
            len = v.trim().parse().ok()?;
        }
        req = req.header(k.trim(), v.trim());
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(req.body(body))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3000".into());
    let fixtures = PathBuf::from(args.next().unwrap_or_else(|| "fixtures".into()));
    let env = DevEnv {
        store: MemoryStore::new(),
        fixtures,
        base: format!("http://127.0.0.1:{port}"),
    };
    let token = "dev-worker-token";
    env.store
        .set("internal:worker-token", token.as_bytes())
        .expect("store");
    let key = create_api_key(&env, "dev", 100).expect("key");
    println!("listening on {}; API key: {key}", env.base);
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).expect("bind");
    for stream in listener.incoming().flatten() {
        let resp = match read_request(&stream) {
            Some(req) => {
                let line = format!("{} {}", req.method, req.path);
                let resp = handle(&env, req);
                eprintln!("{line} -> {}", resp.status);
                resp
            }
            None => edge_api::Response::bytes(400, "text/plain", b"bad request".to_vec()),
        };
        let mut out = format!("HTTP/1.1 {} X\r\n", resp.status);
        for (k, v) in &resp.headers {
            if k != "content-length" {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            resp.body.len()
        ));
        let mut s = &stream;
        let _ = s.write_all(out.as_bytes());
        let _ = s.write_all(&resp.body);
        let _ = s.flush();
        // Play the host's worker: run queued jobs to completion.
        loop {
            let w = handle(
                &env,
                Request::new("POST", "/internal/jobs/work")
                    .header("x-mockup-worker", token)
                    .header("x-mockup-worker-id", "dev"),
            );
            if w.json_body()["job_id"].is_null() {
                break;
            }
        }
    }
}
