//! Project automation, in Rust so it runs wherever cargo does.
//!
//! `cargo xtask test` is the one command that runs every test: it makes sure
//! the wasm targets are installed, builds the edge-API component for
//! wasm32-wasip2 and the compositor for wasm32-unknown-unknown, and runs the
//! whole workspace's tests (unit, integration, fidelity, and the service
//! tests, which start the real `mockup serve` with that component).
//!
//! `cargo xtask serve [mockup serve args]` builds the component and the
//! host and starts the service (the README's first command);
//! `cargo xtask component` only builds the component.

use std::process::{Command, ExitCode};

const WASM_TARGETS: [&str; 2] = ["wasm32-unknown-unknown", "wasm32-wasip2"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("component") => add_targets().and_then(|()| component()),
        Some("serve") => serve(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask test [extra cargo test args]\n       cargo xtask serve [mockup serve args]\n       cargo xtask component"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: running {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed with {status}", args.join(" ")))
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The C toolchain that compiles libwebp for wasm32-wasip2 (Debian
/// packages; `.cargo/config.toml` names them). Installed with apt-get when
/// missing, so the README's two commands work on a fresh machine.
fn ensure_wasm_c_toolchain() -> Result<(), String> {
    let has_clang = Command::new("clang-19").arg("--version").output().is_ok();
    let has_libc = std::path::Path::new("/usr/include/wasm32-wasi").exists();
    if has_clang && has_libc {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let (program, mut args) = if root {
        ("apt-get", vec![])
    } else {
        ("sudo", vec!["apt-get"])
    };
    let mut update = args.clone();
    update.extend(["update", "-q"]);
    run(program, &update)?;
    args.extend([
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "clang-19",
        "llvm-19",
        "libclang-rt-19-dev-wasm32",
        "wasi-libc",
    ]);
    run(program, &args).map_err(|e| {
        format!("{e}\n(the wasm32-wasip2 build needs Debian's clang-19 and wasi-libc)")
    })
}

/// Builds the edge-API component (release: it renders in wasm).
fn component() -> Result<(), String> {
    ensure_wasm_c_toolchain()?;
    run(
        &cargo(),
        &[
            "build",
            "--release",
            "--package",
            "edge-api",
            "--target",
            "wasm32-wasip2",
        ],
    )
}

fn serve(extra: &[String]) -> Result<(), String> {
    add_targets()?;
    component()?;
    let mut args = vec!["run", "--release", "--package", "mockup", "--", "serve"];
    args.extend(extra.iter().map(String::as_str));
    // The release host finds the component in the same target directory.
    run(&cargo(), &args)
}

/// Adds the wasm targets: RUSTUP_AUTO_INSTALL=0 machines do not add the
/// toolchain file's targets by themselves.
fn add_targets() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok();
    let installed = installed
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let missing: Vec<&str> = WASM_TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        let mut args = vec!["target", "add"];
        args.extend(&missing);
        run("rustup", &args)?;
    }
    Ok(())
}

fn test(extra: &[String]) -> Result<(), String> {
    let cargo = cargo();
    add_targets()?;
    // The component is what the service tests serve; building it also
    // proves the compositor builds for wasm32-wasip2.
    component()?;
    run(
        &cargo,
        &[
            "build",
            "--package",
            "compositor",
            "--target",
            "wasm32-unknown-unknown",
        ],
    )?;
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    run_tests(&cargo, &args)
}

/// Runs `cargo test`, passing its output through, and ends with one line
/// totalling every test binary's results (cargo's own last line is the doc
/// tests', which may count none).
fn run_tests(cargo: &str, args: &[&str]) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: running {cargo} {}", args.join(" "));
    let mut child = Command::new(cargo)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cargo}: {e}"))?;
    let (mut passed, mut failed, mut ignored) = (0u64, 0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                let count = |word: &str| {
                    rest.split(';')
                        .find_map(|part| {
                            part.trim()
                                .strip_suffix(word)?
                                .trim()
                                .rsplit(' ')
                                .next()?
                                .parse::<u64>()
                                .ok()
                        })
                        .unwrap_or(0)
                };
                passed += count("passed");
                failed += count("failed");
                ignored += count("ignored");
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    println!("summary: {passed} passed, {failed} failed, {ignored} skipped");
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed with {status}", args.join(" ")))
    }
}
