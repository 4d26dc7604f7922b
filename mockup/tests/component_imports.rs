//! The component imports nothing beyond Spin's platform world, so `spin up`
//! (and SpinKube, Fermyon-style platforms) can run it unchanged: every
//! import of `edge_api.wasm` must be an interface of `spin:up`'s `platform`
//! world, as spin-sdk's own WIT defines it, at a semver-compatible version
//! (a host providing wasi:cli@0.2.6 satisfies an import of 0.2.3).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn component() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_mockup"));
    let target = exe.parent().and_then(Path::parent).expect("target dir");
    let c = target.join("wasm32-wasip2/release/edge_api.wasm");
    assert!(
        c.exists(),
        "{} is missing: build it with `cargo xtask component`",
        c.display()
    );
    c
}

/// spin-sdk's WIT directory, found through cargo's metadata.
fn spin_wit() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let pkg = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "spin-sdk")
        .expect("spin-sdk in the dependency graph");
    Path::new(pkg["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .join("wit")
}

/// `ns:pkg/iface@1.2.3` -> ("ns:pkg/iface", Some((1, 2, 3))).
fn split(name: &str) -> (String, Option<(u64, u64, u64)>) {
    match name.split_once('@') {
        Some((n, v)) => {
            let core = v.split(['-', '+']).next().unwrap_or(v);
            let mut it = core.split('.').map(|x| x.parse::<u64>().unwrap_or(0));
            let ver = (
                it.next().unwrap_or(0),
                it.next().unwrap_or(0),
                it.next().unwrap_or(0),
            );
            // Pre-release versions (draft2) must match exactly.
            if v.contains('-') {
                (format!("{n}@{v}"), None)
            } else {
                (n.to_string(), Some(ver))
            }
        }
        None => (name.to_string(), None),
    }
}

fn compatible(import: (u64, u64, u64), provided: (u64, u64, u64)) -> bool {
    if import.0 == 0 && provided.0 == 0 {
        import.1 == provided.1 && import.2 <= provided.2
    } else {
        import.0 == provided.0 && (import.1, import.2) <= (provided.1, provided.2)
    }
}

#[test]
fn every_import_is_in_spins_platform_world() {
    // The platform world's imported interfaces, resolved with wit-parser.
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(spin_wit()).expect("spin-sdk WIT parses");
    let world = resolve
        .select_world(&[pkg], Some("platform"))
        .expect("the platform world");
    let mut provided: Vec<(String, Option<(u64, u64, u64)>)> = Vec::new();
    for key in resolve.worlds[world].imports.keys() {
        if let wit_parser::WorldKey::Interface(id) = key {
            if let Some(name) = resolve.id_of(*id) {
                provided.push(split(&name));
            }
        }
    }
    assert!(provided.len() > 20, "platform world imports: {provided:?}");

    let wasm = std::fs::read(component()).unwrap();
    let mut imports = BTreeSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        if let Ok(wasmparser::Payload::ComponentImportSection(section)) = payload {
            for import in section.into_iter().flatten() {
                imports.insert(import.name.0.to_string());
            }
        }
    }
    assert!(!imports.is_empty(), "the component has imports");
    let mut outside = Vec::new();
    for import in &imports {
        let (name, ver) = split(import);
        let ok = provided.iter().any(|(p, pv)| {
            *p == name
                && match (ver, pv) {
                    (Some(v), Some(pv)) => compatible(v, *pv),
                    (None, None) => true,
                    _ => false,
                }
        });
        if !ok {
            outside.push(import.clone());
        }
    }
    assert!(
        outside.is_empty(),
        "imports outside Spin's platform world: {outside:?}\n(all imports: {imports:?})"
    );
}
