//! The harness shared by the tests that drive the real `mockup` binary:
//! temporary data directories, starting `mockup serve` on a free port,
//! creating API keys, and child processes reaped on drop.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The `mockup` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mockup");

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory named after `tag`.
    pub fn new(tag: &str) -> TempDir {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        let p = std::env::temp_dir().join(format!(
            "mockup-test-{tag}-{}",
            r.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `mockup serve`.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built component (`cargo xtask component`), beside this binary's
/// target directory.
pub fn component() -> PathBuf {
    let exe = PathBuf::from(BIN);
    let target = exe.parent().and_then(Path::parent).expect("target dir");
    let c = target.join("wasm32-wasip2/release/edge_api.wasm");
    assert!(
        c.exists(),
        "{} is missing: build it with `cargo xtask component` (cargo xtask test does)",
        c.display()
    );
    c
}

/// The `--data` (and `--store`) arguments of a command.
pub fn store_args(data: &Path, redis: Option<&str>) -> Vec<String> {
    let mut a = vec!["--data".to_string(), data.display().to_string()];
    if let Some(url) = redis {
        a.push("--store".into());
        a.push(url.into());
    }
    a
}

/// Starts `mockup serve` on a free port and waits until it listens.
pub fn serve(data: &Path, redis: Option<&str>, extra: &[&str]) -> Server {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .args(["--addr", "127.0.0.1:0"])
        .args(store_args(data, redis))
        .arg("--component")
        .arg(component())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("mockup serve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                    sent = true;
                    continue;
                }
            }
            eprintln!("[serve] {line}");
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("mockup serve reports its address");
    Server { child, base }
}

/// Creates an account with `credits` and returns its key (`mockup keys
/// create`, whose last line of stdout is the key).
pub fn create_key(data: &Path, redis: Option<&str>, name: &str, credits: i64) -> String {
    let out = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--name",
            name,
            "--credits",
            &credits.to_string(),
        ])
        .args(store_args(data, redis))
        .output()
        .expect("mockup keys create runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap();
    let key = key.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("sm_"), "{key}");
    key
}

/// A child process killed on drop.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP response's status and whole body (up to 1 GiB).
pub fn read_all(mut resp: ureq::http::Response<ureq::Body>) -> (u16, Vec<u8>) {
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    (status, body)
}
