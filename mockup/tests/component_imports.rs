//! The component imports nothing beyond Spin's platform world, so `spin up`
//! (and SpinKube, Fermyon-style platforms) can run it unchanged: every
//! interface `edge_api.wasm` imports must be in `spin:up`'s `platform`
//! world, as spin-sdk's own WIT defines it, at a semver-compatible version,
//! and every function it imports from it must exist there.

use std::collections::{BTreeMap, BTreeSet};
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

/// `ns:pkg/iface@0.2.6` -> ("ns:pkg/iface", "0.2"): the part of the version
/// that must match. Hosts link any 0.2.x import to their 0.2.y definition
/// (wasmtime's semver-compatible linking, also what `wasm-tools component
/// targets` checks), so within 0.x the minor version is the contract;
/// pre-releases (`0.2.0-draft2`) must match exactly.
fn split(name: &str) -> (String, String) {
    match name.split_once('@') {
        Some((n, v)) if v.contains('-') => (n.to_string(), v.to_string()),
        Some((n, v)) => {
            let parts: Vec<&str> = v.split('.').collect();
            let key = if parts.first() == Some(&"0") {
                parts.iter().take(2).cloned().collect::<Vec<_>>().join(".")
            } else {
                parts.first().unwrap_or(&"").to_string()
            };
            (n.to_string(), key)
        }
        None => (name.to_string(), String::new()),
    }
}

/// Imported interfaces of a world: (name, version key) -> function names.
fn interfaces(
    resolve: &wit_parser::Resolve,
    world: wit_parser::WorldId,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for (key, item) in &resolve.worlds[world].imports {
        if let (wit_parser::WorldKey::Interface(id), wit_parser::WorldItem::Interface { .. }) =
            (key, item)
        {
            if let Some(name) = resolve.id_of(*id) {
                let funcs = resolve.interfaces[*id].functions.keys().cloned().collect();
                out.insert(split(&name), funcs);
            }
        }
    }
    out
}

#[test]
fn every_import_is_in_spins_platform_world() {
    // The platform world's imported interfaces, resolved from spin-sdk's WIT.
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(spin_wit()).expect("spin-sdk WIT parses");
    let world = resolve
        .select_world(&[pkg], Some("platform"))
        .expect("the platform world");
    let provided = interfaces(&resolve, world);
    assert!(provided.len() > 20, "platform world imports: {provided:?}");

    // The component's own world, decoded from the binary.
    let wasm = std::fs::read(component()).unwrap();
    let wit_component::DecodedWasm::Component(cresolve, cworld) =
        wit_component::decode(&wasm).expect("the component decodes")
    else {
        panic!("not a component");
    };
    let imported = interfaces(&cresolve, cworld);
    assert!(!imported.is_empty(), "the component has imports");
    let bare: Vec<String> = cresolve.worlds[cworld]
        .imports
        .iter()
        .filter(|(_, item)| !matches!(item, wit_parser::WorldItem::Interface { .. }))
        .filter(|(_, item)| !matches!(item, wit_parser::WorldItem::Type { .. }))
        .map(|(k, _)| cresolve.name_world_key(k))
        .collect();
    assert!(bare.is_empty(), "bare function imports: {bare:?}");

    let mut outside = Vec::new();
    for ((name, version), funcs) in &imported {
        match provided.get(&(name.clone(), version.clone())) {
            None => outside.push(format!("{name}@{version}")),
            Some(have) => {
                for f in funcs.difference(have) {
                    outside.push(format!("{name}@{version}#{f}"));
                }
            }
        }
    }
    assert!(
        outside.is_empty(),
        "imports outside Spin's platform world: {outside:?}\n(all: {:?})",
        imported.keys().collect::<Vec<_>>()
    );
}
