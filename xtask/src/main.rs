//! Project automation, in Rust so it runs wherever cargo does.
//!
//! `cargo xtask test` is the one command that runs every test: it makes sure
//! the wasm targets are installed, proves the compositor builds for both of
//! them, and runs the whole workspace's tests (unit, integration, fidelity).

use std::process::{Command, ExitCode};

const WASM_TARGETS: [&str; 2] = ["wasm32-unknown-unknown", "wasm32-wasip2"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test [extra cargo test args]");
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

fn test(extra: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // RUSTUP_AUTO_INSTALL=0 machines do not add the toolchain file's targets
    // by themselves.
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
    for target in WASM_TARGETS {
        run(
            &cargo,
            &["build", "--package", "compositor", "--target", target],
        )?;
    }
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
