//! The key-value store behind the service: embedded SQLite (default) or
//! Redis (several hosts sharing one store).
//!
//! Both backends give the same semantics, which the component relies on:
//! get/set/delete of byte values, an atomic compare-and-swap (every claim,
//! index update and credit change in the API is a CAS, so two hosts never
//! run a job twice) and an atomic counter. The component reaches the store
//! through `wasi:keyvalue` (see `kv_host.rs`); `mockup keys create` uses it
//! natively through the same trait.

use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Mutex;

/// One key-value store. Implementations are shared across requests and
/// threads; each operation is atomic on its own.
pub trait Backend: Send + Sync {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Stores `value` under `key`.
    fn set(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key` (absent keys are fine).
    fn delete(&self, key: &str) -> Result<()>;
    /// Writes `new` only if the current value is `expected` (`None`: the
    /// key is absent). True if written.
    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool>;
    /// Adds `delta` to the counter under `key` (decimal text; absent is 0)
    /// and returns the new value.
    fn increment(&self, key: &str, delta: i64) -> Result<i64>;
    /// Up to `limit` keys after `cursor`, in key order, and the cursor for
    /// the next page (for `wasi:keyvalue` list-keys; the API itself keeps
    /// its own indexes and never scans).
    fn list_keys(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)>;
}

/// Opens the store named by `--store` (a `redis://` URL) or, without one,
/// the SQLite file `kv.sqlite` under `data_dir`.
pub fn open(store: Option<&str>, data_dir: &Path) -> Result<Box<dyn Backend>> {
    match store {
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Ok(Box::new(RedisBackend::open(url)?))
        }
        Some(other) => anyhow::bail!("unsupported --store {other:?}: expected redis://HOST:PORT"),
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            Ok(Box::new(SqliteBackend::open(&data_dir.join("kv.sqlite"))?))
        }
    }
}

/// SQLite in WAL mode: one table of key -> blob. Operations run under one
/// connection lock, so each is atomic; WAL keeps readers off writers' backs
/// and makes every committed write durable across a crash.
pub struct SqliteBackend {
    conn: Mutex<rusqlite::Connection>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = rusqlite::Connection::open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // Pages are read through a memory map (up to 256 MiB of the file)
        // rather than a read() call each: job polls are a few lookups each.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             PRAGMA mmap_size = 268435456;
             CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        Ok(SqliteBackend {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        // A panic while holding the lock cannot leave a half-written row
        // (each statement is its own transaction), so a poisoned lock is
        // still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for SqliteBackend {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .prepare_cached("SELECT value FROM kv WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
            .execute(rusqlite::params![key, value])?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.conn()
            .prepare_cached("DELETE FROM kv WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool> {
        let conn = self.conn();
        let n = match expected {
            None => conn
                .prepare_cached(
                    "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                )?
                .execute(rusqlite::params![key, new])?,
            Some(old) => conn
                .prepare_cached("UPDATE kv SET value = ?3 WHERE key = ?1 AND value = ?2")?
                .execute(rusqlite::params![key, old, new])?,
        };
        Ok(n == 1)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        let mut conn = self.conn();
        // Write-locked from the start: the read and the write are one step.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: Option<Vec<u8>> = {
            use rusqlite::OptionalExtension;
            tx.prepare_cached("SELECT value FROM kv WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?
        };
        let value = parse_counter(current.as_deref())?
            .checked_add(delta)
            .context("counter overflow")?;
        tx.prepare_cached(
            "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?
        .execute(rusqlite::params![key, value.to_string().into_bytes()])?;
        tx.commit()?;
        Ok(value)
    }

    fn list_keys(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT key FROM kv WHERE key > ?1 ORDER BY key LIMIT ?2")?;
        let keys: Vec<String> = stmt
            .query_map(rusqlite::params![cursor.unwrap_or(""), limit as i64], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok((keys, next))
    }
}

fn parse_counter(v: Option<&[u8]>) -> Result<i64> {
    match v {
        None => Ok(0),
        Some(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .context("the key holds a value that is not a counter"),
    }
}

/// Redis: the same operations on one server (or a proxy in front of a
/// cluster). CAS is a Lua script, so it is atomic on the server; counters
/// are Redis integers (decimal text, as on SQLite).
pub struct RedisBackend {
    client: redis::Client,
    /// A small pool: connections are checked out per operation.
    pool: Mutex<Vec<redis::Connection>>,
}

/// Compare-and-swap: KEYS[1]; ARGV[1] = "1" if a value is expected, ARGV[2]
/// the expected value, ARGV[3] the new one.
const CAS_SCRIPT: &str = r#"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
else
  if (not cur) or cur ~= ARGV[2] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"#;

impl RedisBackend {
    /// Connects to `url` (checked at once, so a wrong address fails at
    /// start-up, not on the first request).
    pub fn open(url: &str) -> Result<Self> {
        let client = redis::Client::open(url).with_context(|| format!("redis URL {url}"))?;
        let mut conn = client
            .get_connection()
            .with_context(|| format!("connecting to {url}"))?;
        redis::cmd("PING")
            .query::<String>(&mut conn)
            .with_context(|| format!("PING {url}"))?;
        Ok(RedisBackend {
            client,
            pool: Mutex::new(vec![conn]),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => self.client.get_connection()?,
        };
        let out = f(&mut conn);
        // A connection that failed may be broken: do not return it.
        if out.is_ok() {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < 16 {
                pool.push(conn);
            }
        }
        Ok(out?)
    }
}

impl Backend for RedisBackend {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|c| redis::cmd("GET").arg(key).query(c))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.with(|c| redis::cmd("SET").arg(key).arg(value).query(c))
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.with(|c| redis::cmd("DEL").arg(key).query::<i64>(c))
            .map(|_| ())
    }

    fn compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool> {
        let n: i64 = self.with(|c| {
            redis::cmd("EVAL")
                .arg(CAS_SCRIPT)
                .arg(1)
                .arg(key)
                .arg(if expected.is_some() { "1" } else { "0" })
                .arg(expected.unwrap_or(b""))
                .arg(new)
                .query(c)
        })?;
        Ok(n == 1)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.with(|c| redis::cmd("INCRBY").arg(key).arg(delta).query(c))
    }

    fn list_keys(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)> {
        // SCAN's cursor is opaque and numeric; pass it through as text.
        let start = cursor.unwrap_or("0").to_string();
        let (next, keys): (String, Vec<String>) = self.with(|c| {
            redis::cmd("SCAN")
                .arg(&start)
                .arg("COUNT")
                .arg(limit)
                .query(c)
        })?;
        Ok((keys, (next != "0").then_some(next)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The semantics every backend must share; run on SQLite here and on
    /// Redis by the service tests when a server is available.
    pub(crate) fn check_semantics(kv: &dyn Backend, prefix: &str) {
        let k = |s: &str| format!("{prefix}{s}");
        assert_eq!(kv.get(&k("a")).unwrap(), None);
        kv.set(&k("a"), b"1").unwrap();
        assert_eq!(kv.get(&k("a")).unwrap().as_deref(), Some(&b"1"[..]));
        // CAS from absent succeeds once.
        assert!(kv.compare_and_swap(&k("b"), None, b"x").unwrap());
        assert!(!kv.compare_and_swap(&k("b"), None, b"y").unwrap());
        // CAS from a value succeeds only with the right expectation.
        assert!(!kv.compare_and_swap(&k("b"), Some(b"nope"), b"z").unwrap());
        assert!(kv.compare_and_swap(&k("b"), Some(b"x"), b"z").unwrap());
        assert_eq!(kv.get(&k("b")).unwrap().as_deref(), Some(&b"z"[..]));
        assert!(!kv
            .compare_and_swap(&k("missing"), Some(b"x"), b"z")
            .unwrap());
        // Counters.
        assert_eq!(kv.increment(&k("n"), 5).unwrap(), 5);
        assert_eq!(kv.increment(&k("n"), -7).unwrap(), -2);
        assert_eq!(kv.get(&k("n")).unwrap().as_deref(), Some(&b"-2"[..]));
        kv.delete(&k("a")).unwrap();
        kv.delete(&k("a")).unwrap();
        assert_eq!(kv.get(&k("a")).unwrap(), None);
        // Binary values survive.
        let bin: Vec<u8> = (0..=255).collect();
        kv.set(&k("bin"), &bin).unwrap();
        assert_eq!(kv.get(&k("bin")).unwrap(), Some(bin));
    }

    #[test]
    fn sqlite_semantics() {
        let dir = std::env::temp_dir().join(format!("mockup-kv-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let kv = open(None, &dir).unwrap();
        check_semantics(kv.as_ref(), "t:");
        let (keys, _) = kv.list_keys(None, 100).unwrap();
        assert!(keys.contains(&"t:b".to_string()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Two threads racing to claim the same keys: each key is won once.
    #[test]
    fn sqlite_cas_races_have_one_winner() {
        let dir = std::env::temp_dir().join(format!("mockup-kv-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let kv: std::sync::Arc<dyn Backend> = open(None, &dir).unwrap().into();
        let wins: Vec<usize> = (0..2)
            .map(|_| {
                let kv = kv.clone();
                std::thread::spawn(move || {
                    (0..200)
                        .filter(|i| {
                            kv.compare_and_swap(&format!("claim:{i}"), None, b"me")
                                .unwrap()
                        })
                        .count()
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(wins.iter().sum::<usize>(), 200);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn redis_semantics_when_a_server_is_running() {
        // `.ci/run` starts a Redis server and sets MOCKUP_TEST_REDIS; then
        // the test must reach it. Without the variable it is skipped.
        let Ok(url) = std::env::var("MOCKUP_TEST_REDIS") else {
            eprintln!("MOCKUP_TEST_REDIS not set; skipping the Redis backend test");
            return;
        };
        let kv = RedisBackend::open(&url).expect("the Redis server named by MOCKUP_TEST_REDIS");
        let prefix = format!("t{}:", std::process::id());
        check_semantics(&kv, &prefix);
    }
}
