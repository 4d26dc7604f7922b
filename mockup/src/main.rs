//! `mockup`: the command-line face of the service.
//!
//! `serve` hosts the edge-API component on wasmtime (see [`serve`]);
//! `keys` manages API keys in its store; the offline subcommands run the
//! compositor directly on files.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use compositor::Limits;
use std::path::PathBuf;
use std::time::Instant;

#[cfg(not(target_family = "wasm"))]
mod serve;

#[cfg(not(target_family = "wasm"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "mockup",
    version,
    about = "Mockup rendering: inspect and composite Photoshop templates"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How `mockup serve` delivers webhooks.
#[cfg(not(target_family = "wasm"))]
#[derive(clap::Args, Debug)]
struct WebhookArgs {
    /// Concurrent webhook deliveries (0: this host sends none).
    #[arg(long, default_value_t = 4)]
    webhook_senders: usize,
    /// Delay before a failed delivery's second attempt; each later attempt
    /// waits 3x longer (capped at 4 hours, with +-20% jitter).
    #[arg(long, default_value_t = 10_000)]
    webhook_retry_base_ms: u64,
    /// Attempts before a delivery is given up (`dead`).
    #[arg(long, default_value_t = 12)]
    webhook_max_attempts: u32,
    /// An endpoint is disabled after this many consecutive failed attempts...
    #[arg(long, default_value_t = 50)]
    webhook_disable_after_failures: u32,
    /// ...spanning at least this many minutes.
    #[arg(long, default_value_t = 1440)]
    webhook_disable_after_minutes: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the edge-api component on wasmtime) with an embedded
    /// SQLite store under --data, or a shared Redis store.
    #[cfg(not(target_family = "wasm"))]
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: std::net::SocketAddr,
        /// Data directory (SQLite store, compiled-component cache).
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// A shared store instead of SQLite: redis://HOST:PORT.
        #[arg(long)]
        store: Option<String>,
        /// A non-public IP range the service may fetch URLs from (repeatable),
        /// e.g. 127.0.0.1/32. Public addresses are always allowed.
        #[arg(long = "allow-outbound", value_name = "CIDR")]
        allow_outbound: Vec<String>,
        /// The component to serve (default: edge_api.wasm from this build's
        /// target directory, or $MOCKUP_COMPONENT).
        #[arg(long)]
        component: Option<PathBuf>,
        /// Concurrent job workers (0: answer requests only, run no jobs).
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Days result files stay downloadable.
        #[arg(long, default_value_t = 7)]
        retention_days: u64,
        /// Instances kept warm for reuse between requests (0: a fresh
        /// instance for every request, exactly as Spin runs the component).
        #[arg(long, default_value_t = 4)]
        warm_instances: usize,
        #[command(flatten)]
        webhooks: WebhookArgs,
    },
    /// Manage API keys.
    #[cfg(not(target_family = "wasm"))]
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print a JSON description of a template: size, smart objects, text layers, layer tree.
    Inspect {
        /// PSD or PSB file.
        file: PathBuf,
    },
    /// Re-composite a template from its layers, as saved, to a PNG.
    Composite {
        /// PSD or PSB file.
        file: PathBuf,
        /// Output PNG path.
        #[arg(short, long)]
        output: PathBuf,
        /// Also write the file's stored composite (Photoshop's render) here.
        #[arg(long)]
        stored: Option<PathBuf>,
    },
    /// Render a mockup from a file: REQUEST.json is a render request body
    /// (as for POST /api/v1/renders; mockup_uuid may be absent). Artwork
    /// comes as base64, data: URLs or URLs (fetched under the service's
    /// outbound policy). The output's extension (.png, .jpg, .webp) sets the
    /// image format.
    Render {
        /// PSD or PSB template.
        file: PathBuf,
        /// The request body.
        #[arg(long)]
        request: PathBuf,
        /// Output image.
        #[arg(short, long)]
        output: PathBuf,
        /// A non-public IP range artwork URLs may come from (repeatable);
        /// public addresses are always allowed, as in `serve`.
        #[arg(long = "allow-outbound", value_name = "CIDR")]
        allow_outbound: Vec<String>,
    },
    /// Time parse + composite of files in-process; prints JSON lines
    /// `{file, megapixels, ms}` (best of N runs), for the benchmark script.
    /// With --request, times the whole offline render of that request
    /// instead: best of N per stage (`parse_ms` for the request JSON and
    /// its base64 artwork, `open_ms`, `decode_ms`, `place_ms`,
    /// `composite_ms`, `encode_ms`), and the total's best (`ms`) and
    /// median (`median_ms`).
    Time {
        /// Files to time.
        files: Vec<PathBuf>,
        /// Runs per file; the best is reported.
        #[arg(long, default_value_t = 3)]
        runs: u32,
        /// A render request body to time on each file.
        #[arg(long)]
        request: Option<PathBuf>,
    },
}

/// `mockup keys ...`
#[cfg(not(target_family = "wasm"))]
#[derive(Subcommand)]
enum KeysCommand {
    /// Create an account with a new API key; prints the key (shown once) as
    /// the last line of standard output.
    Create {
        /// A name for the account/key.
        #[arg(long)]
        name: String,
        /// Starting credit balance.
        #[arg(long, default_value_t = 100)]
        credits: i64,
        /// Requests per minute the key may make (default 600).
        #[arg(long)]
        rate_limit: Option<i64>,
        /// Data directory of the SQLite store.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
        /// A Redis store instead: redis://HOST:PORT.
        #[arg(long)]
        store: Option<String>,
    },
}

/// The component next to this binary's build, unless told otherwise.
#[cfg(not(target_family = "wasm"))]
fn default_component() -> PathBuf {
    if let Some(p) = std::env::var_os("MOCKUP_COMPONENT") {
        return PathBuf::from(p);
    }
    // target/{debug,release}/mockup -> target/wasm32-wasip2/release/edge_api.wasm
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .map(|target| target.join("wasm32-wasip2/release/edge_api.wasm"))
        .unwrap_or_else(|| PathBuf::from("edge_api.wasm"))
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let limits = Limits::default();
    match cli.command {
        #[cfg(not(target_family = "wasm"))]
        Command::Serve {
            addr,
            data,
            store,
            allow_outbound,
            component,
            workers,
            retention_days,
            warm_instances,
            webhooks,
        } => {
            let allow_outbound = allow_outbound
                .iter()
                .map(|c| c.parse().map_err(anyhow::Error::msg))
                .collect::<Result<Vec<_>>>()?;
            serve::run(serve::ServeOptions {
                addr,
                data,
                store,
                allow_outbound,
                component: component.unwrap_or_else(default_component),
                workers,
                retention_days,
                warm_instances,
                webhook_senders: webhooks.webhook_senders,
                webhook_retry: edge_api::webhooks::RetryPolicy {
                    base_ms: webhooks.webhook_retry_base_ms.max(1),
                    max_attempts: webhooks.webhook_max_attempts.max(1),
                    disable_after_failures: webhooks.webhook_disable_after_failures.max(1),
                    disable_after_ms: webhooks
                        .webhook_disable_after_minutes
                        .saturating_mul(60_000),
                    ..Default::default()
                },
            })?;
        }
        #[cfg(not(target_family = "wasm"))]
        Command::Keys {
            command:
                KeysCommand::Create {
                    name,
                    credits,
                    rate_limit,
                    data,
                    store,
                },
        } => {
            let kv = serve::kv::open(store.as_deref(), &data)?;
            let env = serve::native_env::NativeEnv {
                store: serve::native_env::BackendStore(kv.into()),
            };
            let options = edge_api::KeyOptions {
                rate_limit_per_minute: rate_limit,
            };
            let key = edge_api::create_api_key_with(&env, &name, credits, &options)
                .map_err(|e| anyhow::anyhow!("creating the key: {e:?}"))?;
            eprintln!("created account {name:?} with {credits} credits; the key is shown once:");
            println!("{key}");
        }
        Command::Inspect { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc = compositor::open(&bytes, &limits)
                .with_context(|| format!("parsing {}", file.display()))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&compositor::inspect::inspect(&doc))?
            );
        }
        Command::Composite {
            file,
            output,
            stored,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc = compositor::open(&bytes, &limits)
                .with_context(|| format!("parsing {}", file.display()))?;
            let (rgba, warnings) = compositor::composite_rgba8(&doc, &limits)?;
            let png = compositor::encode::png_rgba8(&rgba, doc.width, doc.height)?;
            std::fs::write(&output, png)
                .with_context(|| format!("writing {}", output.display()))?;
            if let Some(path) = stored {
                let merged = doc
                    .merged
                    .as_ref()
                    .context("the file stores no composite image")?;
                let rgba = compositor::color::to_rgba8(&doc.color, &merged.color, &merged.alpha);
                std::fs::write(
                    &path,
                    compositor::encode::png_rgba8(&rgba, doc.width, doc.height)?,
                )?;
            }
            for w in warnings.iter().chain(&doc.warnings) {
                eprintln!("warning: {}", serde_json::to_string(w)?);
            }
        }
        Command::Render {
            file,
            request,
            output,
            allow_outbound,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let body: serde_json::Value = serde_json::from_slice(
                &std::fs::read(&request)
                    .with_context(|| format!("reading {}", request.display()))?,
            )
            .with_context(|| format!("{} is not JSON", request.display()))?;
            let mut req = match compositor::request::parse(
                &body,
                compositor::request::MockupUuid::Optional,
            ) {
                Ok(r) => r,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("invalid request: {}: {}", e.field, e.message);
                    }
                    anyhow::bail!("the request has {} invalid field(s)", errors.len());
                }
            };
            use compositor::request::ImageFormat;
            req.export_options.image_format = match output
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("png") => ImageFormat::Png,
                Some("jpg" | "jpeg") => ImageFormat::Jpg,
                Some("webp") => ImageFormat::Webp,
                _ => req.export_options.image_format,
            };
            let doc = compositor::open(&bytes, &limits)
                .with_context(|| format!("parsing {}", file.display()))?;
            // Artwork URLs are fetched under the same outbound policy as the
            // service's (natively; the wasm build of this tool has no
            // network).
            #[cfg(not(target_family = "wasm"))]
            let policy = serve::outbound::Policy {
                allow: allow_outbound
                    .iter()
                    .map(|c| c.parse().map_err(anyhow::Error::msg))
                    .collect::<Result<Vec<_>>>()?,
            };
            #[cfg(target_family = "wasm")]
            let _ = &allow_outbound;
            let fetch = |url: &str| -> Result<Vec<u8>, String> {
                #[cfg(not(target_family = "wasm"))]
                {
                    serve::outbound::fetch_blocking(url, &policy, limits.max_file_bytes as usize)
                }
                #[cfg(target_family = "wasm")]
                {
                    Err(format!(
                        "this build cannot download {url}; send the image as base64"
                    ))
                }
            };
            let out = compositor::mockup::render(&doc, &req, &fetch, &limits)?;
            std::fs::write(&output, &out.bytes)
                .with_context(|| format!("writing {}", output.display()))?;
            for w in &out.warnings {
                eprintln!("warning: {}", serde_json::to_string(w)?);
            }
            eprintln!(
                "{} {}x{} ({} bytes)",
                out.content_type,
                out.width,
                out.height,
                out.bytes.len()
            );
        }
        Command::Time {
            files,
            runs,
            request: Some(request),
        } => {
            // Everything the service does to render the request, minus
            // HTTP, the store and wasm: parse the request (JSON, base64
            // artwork), open the template, then the four stages. This is
            // the native peer the load test holds the service against.
            let body = std::fs::read(&request)
                .with_context(|| format!("reading {}", request.display()))?;
            let offline = |_: &str| -> Result<Vec<u8>, String> { Err("offline".into()) };
            for file in files {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                use compositor::mockup as m;
                let mut laps: Vec<[f64; 7]> = Vec::new();
                let mut size = 0;
                for _ in 0..runs.max(1) {
                    let t0 = Instant::now();
                    let json: serde_json::Value = serde_json::from_slice(&body)?;
                    let req = compositor::request::parse(
                        &json,
                        compositor::request::MockupUuid::Optional,
                    )
                    .map_err(|e| anyhow::anyhow!("invalid request: {e:?}"))?;
                    let t1 = Instant::now();
                    let doc = compositor::open(&bytes, &limits)?;
                    let t2 = Instant::now();
                    let decoded = m::decode(&doc, &req, &offline, &limits)?;
                    let t3 = Instant::now();
                    let placed = m::place(&doc, &req, &decoded, &limits)?;
                    drop(decoded);
                    let t4 = Instant::now();
                    let image = m::composite(&doc, &req, placed, &limits)?;
                    let t5 = Instant::now();
                    let out = m::encode(image, &req)?;
                    let t6 = Instant::now();
                    size = out.bytes.len();
                    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
                    laps.push([
                        ms(t1 - t0),
                        ms(t2 - t1),
                        ms(t3 - t2),
                        ms(t4 - t3),
                        ms(t5 - t4),
                        ms(t6 - t5),
                        ms(t6 - t0),
                    ]);
                }
                let best = |i: usize| laps.iter().map(|l| l[i]).fold(f64::INFINITY, f64::min);
                let mut totals: Vec<f64> = laps.iter().map(|l| l[6]).collect();
                totals.sort_by(f64::total_cmp);
                println!(
                    "{}",
                    serde_json::json!({"file": file.display().to_string(), "bytes": size,
                        "parse_ms": best(0), "open_ms": best(1), "decode_ms": best(2),
                        "place_ms": best(3), "composite_ms": best(4), "encode_ms": best(5),
                        "ms": best(6), "median_ms": totals[totals.len() / 2]})
                );
            }
        }
        Command::Time {
            files,
            runs,
            request: None,
        } => {
            for file in files {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                // Best of N for each stage: open (parse + build), composite
                // (layer tree), convert (to sRGB RGBA8).
                let mut best = [f64::INFINITY; 3];
                let mut mpx = 0.0;
                for _ in 0..runs.max(1) {
                    let t0 = Instant::now();
                    let doc = compositor::open(&bytes, &limits)?;
                    let t1 = Instant::now();
                    let c = compositor::render::composite::composite_document(
                        &doc,
                        &limits,
                        &Default::default(),
                    )?;
                    let t2 = Instant::now();
                    let rgba =
                        compositor::color::to_rgba8(&doc.color, &c.raster.color, &c.raster.alpha);
                    let t3 = Instant::now();
                    std::hint::black_box(&rgba);
                    for (b, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
                        *b = b.min(d.as_secs_f64() * 1e3);
                    }
                    mpx = doc.width as f64 * doc.height as f64 / 1e6;
                }
                let total: f64 = best.iter().sum();
                println!(
                    "{}",
                    serde_json::json!({"file": file.display().to_string(), "megapixels": mpx, "ms": total,
                        "open_ms": best[0], "composite_ms": best[1], "convert_ms": best[2]})
                );
            }
        }
    }
    Ok(())
}
