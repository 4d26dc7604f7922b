//! `inspect` against an independent reader: for every fixture with smart
//! objects, the names, content sizes and transform kinds must agree with
//! what psd-tools recorded in `summary.json`.

use compositor::Limits;
use std::collections::HashMap;

const FIXTURES: &str = "../../shared/fixtures/psd";

#[test]
fn smart_objects_match_psd_tools() {
    let Ok(text) = std::fs::read_to_string(format!("{FIXTURES}/summary.json")) else {
        eprintln!("fixtures missing; skipping");
        return;
    };
    let summary: serde_json::Value = serde_json::from_str(&text).expect("json");
    let limits = Limits::default();
    let mut checked = 0;
    for f in summary["files"].as_array().expect("files") {
        let Some(expected) = f["smart_objects"].as_array().filter(|a| !a.is_empty()) else {
            continue;
        };
        let file = f["file"].as_str().expect("name");
        let bytes = std::fs::read(format!("{FIXTURES}/{file}")).expect("fixture");
        let doc = compositor::open(&bytes, &limits).unwrap_or_else(|e| panic!("{file}: {e}"));
        let info = compositor::inspect::inspect(&doc);
        let ours: HashMap<&str, &compositor::inspect::SmartObjectInfo> = info
            .smart_objects
            .iter()
            .map(|s| (s.name.as_str(), s))
            .collect();
        for so in expected {
            let name = so["name"].as_str().expect("name");
            let o = ours
                .get(name)
                .unwrap_or_else(|| panic!("{file}: smart object {name} not found"));
            let kind = if so["warp_nontrivial"].as_bool() == Some(true) {
                "warp"
            } else if so["non_affine"].as_bool() == Some(true) {
                "perspective"
            } else {
                "affine"
            };
            let got = serde_json::to_value(o.transform).expect("kind");
            assert_eq!(got, kind, "{file}: {name} transform");
            let size = so["content_size"].as_array().expect("size");
            let w = size[0].as_f64().expect("w").round() as u32;
            let h = size[1].as_f64().expect("h").round() as u32;
            assert_eq!((o.size.width, o.size.height), (w, h), "{file}: {name} size");
            if so["kind"].as_str() == Some("embedded") {
                assert_eq!(
                    o.source,
                    compositor::doc::smart_object::ContentsSource::Embedded,
                    "{file}: {name} source"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 50, "only {checked} smart objects checked");
}

#[test]
fn uuids_are_stable_and_distinct() {
    let Ok(a) = std::fs::read(format!("{FIXTURES}/psd-tools/placedLayer.psd")) else {
        return;
    };
    let Ok(b) = std::fs::read(format!("{FIXTURES}/psd-tools/placedLayer.psb")) else {
        return;
    };
    let limits = Limits::default();
    let ids = |bytes: &[u8]| -> Vec<String> {
        let doc = compositor::open(bytes, &limits).expect("opens");
        doc.walk().iter().map(|l| l.uuid.to_string()).collect()
    };
    let first = ids(&a);
    assert_eq!(first, ids(&a), "same file, same UUIDs");
    let unique: std::collections::HashSet<_> = first.iter().collect();
    assert_eq!(unique.len(), first.len(), "UUIDs are unique within a file");
    assert!(
        ids(&b).iter().all(|u| !first.contains(u)),
        "another file gets other UUIDs"
    );
    // The smart object's UUID in the smart-object list is its layer UUID.
    let doc = compositor::open(&a, &limits).expect("opens");
    let info = compositor::inspect::inspect(&doc);
    for so in &info.smart_objects {
        assert!(first.contains(&so.uuid));
    }
}

/// Opening with progress reports fractions that never go back, end at 1,
/// and move through the file's pixel data (several steps for a layered
/// file), and gives the same document as `open`.
#[test]
fn open_reports_progress_through_the_file() {
    let bytes = std::fs::read("../fixtures/small-mockup.psd").expect("own fixture");
    let limits = compositor::Limits::default();
    let mut seen = Vec::new();
    let doc = compositor::open_with_progress(&bytes, &limits, &mut |f| seen.push(f)).unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&1.0));
    assert!(seen.len() >= 4, "only {} steps: {seen:?}", seen.len());
    assert!(seen[0] < 0.5, "{seen:?}");
    let plain = compositor::open(&bytes, &limits).unwrap();
    assert_eq!(
        compositor::inspect::inspect(&doc).layers.len(),
        compositor::inspect::inspect(&plain).layers.len()
    );
    // A file that cannot be read reports no completion.
    let mut last = 0.0;
    assert!(
        compositor::open_with_progress(&bytes[..bytes.len() / 3], &limits, &mut |f| last = f)
            .is_err()
    );
    assert!(last < 1.0);
}
