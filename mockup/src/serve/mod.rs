//! `mockup serve`: the service host. It serves the edge-API component
//! (`edge-api`, built for wasm32-wasip2) over HTTP on wasmtime, exactly as a
//! Spin runtime would: a fresh instance per request from a pre-instantiated,
//! pooled component, with the Spin platform interfaces the component
//! imports (WASI p2, `wasi:http` outbound through our policy,
//! `wasi:keyvalue` over SQLite or Redis).
//!
//! The host also drives asynchronous jobs: worker tasks call the
//! component's internal `POST /internal/jobs/work` route (authenticated by a
//! token the host writes into the store at start-up, and unreachable from
//! outside: the front end answers 404 for `/internal/` paths and strips the
//! worker headers). Webhook senders call `POST /internal/webhooks/deliver`
//! the same way, each making one due delivery per call, so a slow receiver
//! holds one sender and never a request. Job state lives only in the store, so a crash loses
//! nothing: at start-up the host hands its own unfinished jobs back to the
//! queue, and on SIGTERM it stops taking work, lets in-flight requests and
//! jobs finish (up to a grace period) and hands back the rest.

pub mod kv;
mod kv_host;
pub mod native_env;
pub mod outbound;
mod web;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Headers only the host may send to the component.
const WORKER_TOKEN_HEADER: &str = "x-mockup-worker";
const WORKER_ID_HEADER: &str = "x-mockup-worker-id";
/// The store key holding the worker token.
const WORKER_TOKEN_KEY: &str = "internal:worker-token";
/// Largest request body accepted (a PSB template uploaded directly).
const MAX_BODY_BYTES: usize = 1 << 30;
/// How long SIGTERM waits for in-flight requests and jobs.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What `mockup serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Listening address.
    pub addr: SocketAddr,
    /// Data directory (SQLite store, compiled-component cache, host id).
    pub data: PathBuf,
    /// `redis://` URL of a shared store, instead of SQLite.
    pub store: Option<String>,
    /// Non-public ranges the component may fetch from.
    pub allow_outbound: Vec<outbound::Cidr>,
    /// The component (`edge_api.wasm`).
    pub component: PathBuf,
    /// Concurrent job workers (0: this host only answers requests, e.g.
    /// an API-only node in front of worker nodes on a shared Redis store).
    pub workers: usize,
    /// Days result files stay downloadable.
    pub retention_days: u64,
    /// Concurrent webhook deliveries (0: none from this host).
    pub webhook_senders: usize,
    /// Retry and auto-disable policy of webhook deliveries.
    pub webhook_retry: edge_api::webhooks::RetryPolicy,
    /// Warm instances kept for reuse (0: a fresh instance per request, as
    /// Spin does).
    pub warm_instances: usize,
}

/// Per-instance store data: what the component's imports need.
pub struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    kv: Arc<dyn kv::Backend>,
    outbound: outbound::Outbound,
    memory: MemoryWatch,
}

/// Records how large the instance's linear memory has grown, so that an
/// instance that grew big is not kept warm.
#[derive(Default)]
struct MemoryWatch {
    bytes: usize,
}

impl wasmtime::ResourceLimiter for MemoryWatch {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.bytes = self.bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// An instance that finished a request cleanly, kept for the next one.
struct Warm {
    store: Store<State>,
    proxy: wasmtime_wasi_http::p2::bindings::Proxy,
    uses: u32,
}

/// Requests one warm instance may serve before it is replaced (bounds
/// whatever an instance accumulates: allocator fragmentation, caches).
const WARM_MAX_USES: u32 = 1000;
/// An instance whose memory grew past this is dropped, not kept warm: a
/// giant render must not pin gigabytes while idle.
const WARM_MAX_MEMORY: usize = 1 << 30;
/// Instances up to this size serve light requests; bigger ones (they
/// rendered) are kept for renders only. Measured: a job poll on an instance
/// that had rendered runs 3-4x slower than on a small one (the guest heap
/// it walks is large), while a render on it skips re-faulting its working
/// set.
const WARM_SMALL_MEMORY: usize = 64 << 20;

/// Warm instances, kept apart by size.
#[derive(Default)]
struct WarmPool {
    small: Vec<Warm>,
    big: Vec<Warm>,
}

impl WarmPool {
    /// A warm instance for a request: renders and uploads prefer one that
    /// has rendered before; light requests take only small ones.
    fn take(&mut self, heavy: bool) -> Option<Warm> {
        if heavy {
            self.big.pop().or_else(|| self.small.pop())
        } else {
            self.small.pop()
        }
    }

    /// Keeps an instance for later, up to `max` of each size.
    fn give(&mut self, w: Warm, max: usize) {
        let list = if w.store.data().memory.bytes <= WARM_SMALL_MEMORY {
            &mut self.small
        } else {
            &mut self.big
        };
        if list.len() < max {
            list.push(w);
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

/// The running service, shared by connections and workers.
struct Host {
    pre: ProxyPre<State>,
    kv: Arc<dyn kv::Backend>,
    policy: Arc<outbound::Policy>,
    tls: Arc<rustls::ClientConfig>,
    token: String,
    worker_id: String,
    /// Requests and jobs in flight (for graceful shutdown).
    active: AtomicUsize,
    idle: tokio::sync::Notify,
    /// Wakes the workers when a job was queued.
    work: tokio::sync::Notify,
    /// Wakes the webhook senders when an event or delivery may be due (a
    /// job ended, a test or replay was asked for).
    hooks: tokio::sync::Notify,
    stopping: AtomicBool,
    /// Instances ready for another request, and how many to keep.
    warm: Arc<std::sync::Mutex<WarmPool>>,
    warm_max: usize,
}

/// Runs the service until SIGTERM or Ctrl-C.
pub fn run(opts: ServeOptions) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(opts))
}

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // `MOCKUP_PERFMAP=1` names the component's compiled functions for
    // `perf record` (README, "Speed"): how the wasm side's time was profiled.
    if std::env::var_os("MOCKUP_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    // Instances come from a pool of pre-reserved slots: instantiation per
    // request is then a few microseconds of bookkeeping.
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(128);
    pool.total_memories(128);
    pool.total_tables(256);
    pool.max_memory_size(4 << 30);
    // Reset the first MiBs of a reused slot with memset instead of handing
    // the pages back to the kernel: small requests (job polls, lists) then
    // cost no page faults or TLB shootdowns. Measured with wrk on
    // GET /api/v1/jobs/{id}: see README "The service".
    pool.linear_memory_keep_resident(8 << 20);
    pool.table_keep_resident(1 << 20);
    // Return freed slots in batches rather than one madvise per request.
    pool.decommit_batch_size(32);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&config)?)
}

/// Compiles the component, or loads the machine code compiled for this
/// exact file and engine from the cache in the data directory.
fn load_component(engine: &Engine, path: &Path, data: &Path) -> Result<Component> {
    let wasm = std::fs::read(path).with_context(|| {
        format!(
            "reading the component {} (build it with `cargo xtask component`)",
            path.display()
        )
    })?;
    let digest = xxhash_rust::xxh3::xxh3_128(&wasm);
    let cache = data.join(format!("component-{digest:032x}.cwasm"));
    if cache.exists() {
        // SAFETY: the cache file was written by `Component::serialize` of
        // this same binary (the digest names the input; wasmtime checks its
        // own version and settings in the header and refuses a mismatch).
        if let Ok(c) = unsafe { Component::deserialize_file(engine, &cache) } {
            return Ok(c);
        }
    }
    let component = Component::new(engine, &wasm)
        .map_err(anyhow::Error::from)
        .context("compiling the component")?;
    if let Ok(bytes) = component.serialize() {
        let _ = std::fs::write(&cache, bytes);
    }
    Ok(component)
}

/// A stable id for this host's workers, kept in the data directory, so
/// after a crash the next start finds the jobs it had claimed.
fn host_id(data: &Path) -> Result<String> {
    let path = data.join("host-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_string());
        }
    }
    let id = format!("host-{}", random_hex(8));
    std::fs::write(&path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// Hex of `n` random bytes from the OS.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

async fn serve(opts: ServeOptions) -> Result<()> {
    std::fs::create_dir_all(&opts.data)
        .with_context(|| format!("creating {}", opts.data.display()))?;
    let kv: Arc<dyn kv::Backend> = kv::open(opts.store.as_deref(), &opts.data)?.into();
    let engine = engine()?;
    let component = load_component(&engine, &opts.component, &opts.data)?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    kv_host::add_to_linker(&mut linker)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;

    // The operator's retention, read by the component when it stores a
    // result (hosts sharing a store should agree; the last to start wins).
    let retention_ms = opts.retention_days.max(1).saturating_mul(24 * 3600 * 1000);
    kv.set(
        edge_api::files::RETENTION_CONFIG_KEY,
        retention_ms.to_string().as_bytes(),
    )?;
    kv.set(
        edge_api::webhooks::RETRY_CONFIG_KEY,
        &serde_json::to_vec(&opts.webhook_retry)?,
    )?;
    // Hosts sharing one store share one token: the first writes it.
    let fresh = random_hex(32);
    let token = if kv.compare_and_swap(WORKER_TOKEN_KEY, None, fresh.as_bytes())? {
        fresh
    } else {
        let stored = kv.get(WORKER_TOKEN_KEY)?.unwrap_or_default();
        String::from_utf8(stored).context("the stored worker token is not text")?
    };
    let host = Arc::new(Host {
        pre,
        kv,
        policy: Arc::new(outbound::Policy {
            allow: opts.allow_outbound.clone(),
        }),
        tls: outbound::tls_config(),
        token,
        worker_id: host_id(&opts.data)?,
        active: AtomicUsize::new(0),
        idle: tokio::sync::Notify::new(),
        work: tokio::sync::Notify::new(),
        hooks: tokio::sync::Notify::new(),
        stopping: AtomicBool::new(false),
        warm: Arc::new(std::sync::Mutex::new(WarmPool::default())),
        warm_max: opts.warm_instances,
    });
    // Jobs this host had claimed before it stopped go back to the queue.
    host.requeue_own().await?;

    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .with_context(|| format!("binding {}", opts.addr))?;
    eprintln!(
        "mockup serve: listening on http://{} (store: {}, host id {})",
        listener.local_addr()?,
        opts.store.as_deref().unwrap_or("sqlite"),
        host.worker_id
    );

    let workers: Vec<_> = (0..opts.workers)
        .map(|_| tokio::spawn(worker(host.clone())))
        .chain((0..opts.webhook_senders).map(|_| tokio::spawn(webhook_sender(host.clone()))))
        .collect();

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let host = host.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let host = host.clone();
                        async move { host.front(req).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(wasmtime_wasi_http::io::TokioIo::new(stream), service)
                        .await;
                });
            }
            _ = &mut shutdown => break,
        }
    }

    // Graceful shutdown: no new connections, no new jobs; wait for what is
    // running, then hand back whatever did not finish.
    eprintln!("mockup serve: shutting down");
    drop(listener);
    host.stopping.store(true, Ordering::SeqCst);
    host.work.notify_waiters();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while host.active.load(Ordering::SeqCst) > 0 {
            host.idle.notified().await;
        }
    })
    .await;
    for w in workers {
        w.abort();
    }
    host.requeue_own().await?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// Counts a request or job as in flight while alive.
struct InFlight<'a>(&'a Host);

impl<'a> InFlight<'a> {
    fn new(host: &'a Host) -> Self {
        host.active.fetch_add(1, Ordering::SeqCst);
        InFlight(host)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

fn plain(status: u16, body: &'static str) -> hyper::Response<HyperOutgoingBody> {
    let body = http_body_util::Full::new(Bytes::from_static(body.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut r = hyper::Response::new(HyperOutgoingBody::new(body));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    r.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    r
}

impl Host {
    /// An outside request: filtered, then handed to the component.
    async fn front(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        if req.uri().path().starts_with("/internal/") {
            return Ok(plain(404, r#"{"detail":"Not Found"}"#));
        }
        // The web demo's page and assets (`/`, `/demo/...`).
        if let Some(resp) = web::serve(req.method(), req.uri().path()) {
            return Ok(resp);
        }
        if self.stopping.load(Ordering::SeqCst) {
            return Ok(plain(503, r#"{"detail":"The service is shutting down"}"#));
        }
        let (mut parts, body) = req.into_parts();
        parts.headers.remove(WORKER_TOKEN_HEADER);
        parts.headers.remove(WORKER_ID_HEADER);
        // Bodies are read whole (the component needs all of it anyway) and
        // capped before the component sees them.
        let body = match http_body_util::Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => return Ok(plain(413, r#"{"detail":"Request body too large"}"#)),
        };
        let is_submit = parts.method == http::Method::POST;
        let req = hyper::Request::from_parts(parts, full(body));
        let resp = self.call(req).await?;
        if is_submit && resp.status() == hyper::StatusCode::ACCEPTED {
            self.work.notify_waiters();
            self.hooks.notify_waiters();
        }
        Ok(resp)
    }

    /// A store for a new instance.
    fn new_store(&self) -> Store<State> {
        let mut store = Store::new(
            self.pre.engine(),
            State {
                wasi: WasiCtx::builder().inherit_stderr().build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                kv: self.kv.clone(),
                outbound: outbound::Outbound {
                    policy: self.policy.clone(),
                    tls: self.tls.clone(),
                },
                memory: MemoryWatch::default(),
            },
        );
        store.limiter(|s| &mut s.memory);
        store
    }

    /// Runs one request through a component instance: a warm one that
    /// finished an earlier request cleanly, else a fresh one from the pool.
    ///
    /// Reuse is safe for this component because it keeps no state between
    /// requests beyond content-keyed caches (ICC transforms); everything
    /// else lives in the store. It saves re-faulting the working set of a
    /// render (tens of ms). An instance that trapped is never reused, and
    /// `--warm-instances 0` gives Spin's one-instance-per-request.
    async fn call(&self, req: hyper::Request<Body>) -> Result<hyper::Response<HyperOutgoingBody>> {
        let guard = InFlight::new(self);
        let heavy = req.method() == http::Method::POST
            && matches!(
                req.uri().path(),
                "/api/v1/renders" | "/api/v1/psd/upload" | "/internal/jobs/work"
            );
        let warm = self
            .warm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(heavy);
        let (mut store, proxy, uses) = match warm {
            Some(w) => (w.store, Some(w.proxy), w.uses),
            None => (self.new_store(), None, 0),
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let (pool, pool_max) = (self.warm.clone(), self.warm_max);
        // The instance runs in its own task so it may keep working after
        // the response head is sent (streamed bodies); when it is done it
        // goes back to the warm pool.
        let task = tokio::spawn(async move {
            let proxy = match proxy {
                Some(p) => p,
                None => pre.instantiate_async(&mut store).await?,
            };
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await?;
            let keep = uses + 1 < WARM_MAX_USES
                && store.data().memory.bytes <= WARM_MAX_MEMORY
                && store.data().table.is_empty();
            if keep {
                let w = Warm {
                    store,
                    proxy,
                    uses: uses + 1,
                };
                pool.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .give(w, pool_max);
            }
            anyhow::Ok(())
        });
        let resp = match receiver.await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => {
                let e = match task.await {
                    Ok(Ok(())) => anyhow::anyhow!("the component sent no response"),
                    Ok(Err(e)) => e,
                    Err(e) => e.into(),
                };
                eprintln!("mockup serve: component failed: {e:#}");
                return Ok(plain(500, r#"{"detail":"Internal server error"}"#));
            }
        };
        drop(guard);
        Ok(resp)
    }

    /// A request from the host itself to an internal route.
    async fn internal(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value> {
        let req = hyper::Request::builder()
            .method("POST")
            .uri(format!("http://localhost{path}"))
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header(WORKER_TOKEN_HEADER, &self.token)
            .header(WORKER_ID_HEADER, &self.worker_id)
            .body(full(Bytes::from(body.to_string())))?;
        let resp = self.call(req).await?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading {path}: {e:?}"))?
            .to_bytes();
        anyhow::ensure!(
            status.is_success(),
            "{path} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        Ok(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    async fn requeue_own(&self) -> Result<()> {
        self.internal(
            "/internal/jobs/requeue",
            serde_json::json!({ "worker_id": self.worker_id }),
        )
        .await
        .context("handing this host's unfinished jobs back to the queue")?;
        self.internal(
            "/internal/webhooks/release",
            serde_json::json!({ "worker_id": self.worker_id }),
        )
        .await
        .map(|_| ())
        .context("handing this host's unfinished webhook deliveries back")
    }
}

fn full(bytes: Bytes) -> Body {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// One webhook sender: asks the component to make due deliveries until the
/// host stops. Deliveries run here, never on a request's path; their state
/// is in the store, so one cut short by a crash is retried after its lease.
async fn webhook_sender(host: Arc<Host>) {
    while !host.stopping.load(Ordering::SeqCst) {
        match host
            .internal("/internal/webhooks/deliver", serde_json::json!({}))
            .await
        {
            Ok(v) if !v["delivery_id"].is_null() => continue,
            Ok(_) => {}
            Err(e) => eprintln!("mockup serve: webhook sender: {e:#}"),
        }
        let _ = tokio::time::timeout(Duration::from_millis(250), host.hooks.notified()).await;
    }
}

/// One job worker: asks the component for work until the host stops,
/// sleeping between empty polls unless woken by a new job.
async fn worker(host: Arc<Host>) {
    while !host.stopping.load(Ordering::SeqCst) {
        match host
            .internal("/internal/jobs/work", serde_json::json!({}))
            .await
        {
            Ok(v) if !v["job_id"].is_null() => {
                // The job is terminal (or was taken away): its event may be due.
                host.hooks.notify_waiters();
                continue;
            }
            Ok(_) => {}
            Err(e) => eprintln!("mockup serve: job worker: {e:#}"),
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), host.work.notified()).await;
    }
}
