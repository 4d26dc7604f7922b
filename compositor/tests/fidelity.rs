//! Fidelity of re-compositing against Photoshop's own renders.
//!
//! For every fixture in `../shared/fixtures/psd` the ground truth is the
//! file's stored composite when it is real (Maximize Compatibility), else
//! the source project's expected PNG when it has one. We re-composite the
//! layer tree, compare over premultiplied RGBA (PSNR, dB), print a table next
//! to psd-tools' score from `summary.json`, and fail when a file drops more
//! than 0.5 dB under its recorded baseline (`tests/fidelity-baseline.json`).
//! Run with `FIDELITY_WRITE_BASELINE=1` to record a new baseline after an
//! improvement.

use compositor::metrics::{flatten_over_white, psnr_premultiplied};
use compositor::Limits;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FIXTURES: &str = "../../shared/fixtures/psd";
const BASELINE: &str = "tests/fidelity-baseline.json";
/// Scores are capped here: beyond it, differences are rounding noise.
const CAP_DB: f64 = 99.0;

struct Row {
    file: String,
    truth: &'static str,
    ours: Option<f64>,
    psd_tools: Option<f64>,
    note: String,
}

fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(FIXTURES) else {
        return out;
    };
    for d in dirs.flatten() {
        if let Ok(files) = std::fs::read_dir(d.path()) {
            for f in files.flatten() {
                let p = f.path();
                if matches!(p.extension().and_then(|e| e.to_str()), Some("psd" | "psb")) {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

fn psd_tools_scores() -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(Path::new(FIXTURES).join("summary.json")) else {
        return out;
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("summary.json is JSON");
    for f in v["files"].as_array().into_iter().flatten() {
        let name = f["file"].as_str().unwrap_or_default().to_string();
        let score = if f["psnr_identical"].as_bool() == Some(true) {
            Some(CAP_DB)
        } else {
            f["psnr_db_vs_stored"]
                .as_f64()
                .or_else(|| f["psnr_db_composite_vs_expected_png"].as_f64())
        };
        if let Some(s) = score {
            out.insert(name, s.min(CAP_DB));
        }
    }
    out
}

fn score(path: &Path, limits: &Limits) -> (Option<f64>, &'static str, String) {
    let bytes = std::fs::read(path).expect("fixture readable");
    let doc = match compositor::open(&bytes, limits) {
        Ok(d) => d,
        Err(e) => return (None, "-", format!("parse error: {e}")),
    };
    let (mut ours, warnings) = match compositor::composite_rgba8(&doc, limits) {
        Ok(r) => r,
        Err(e) => return (None, "-", format!("composite error: {e}")),
    };
    let mut codes: Vec<&str> = warnings.iter().map(|w| w.code).collect();
    codes.sort();
    codes.dedup();
    let note = codes.join(",");
    let expected_png = path.with_extension("expected.png");
    let (truth, mut expected, opaque) = match (&doc.merged, doc.merged_is_reliable) {
        (Some(m), true) => {
            let rgba = compositor::color::to_rgba8(&doc.color, &m.color, &m.alpha);
            let opaque = m.alpha.iter().all(|&a| a >= 1.0);
            ("stored", rgba, opaque)
        }
        _ if expected_png.exists() => {
            let png = std::fs::read(&expected_png).expect("png readable");
            match compositor::encode::decode_png_rgba8(&png, limits.max_canvas_pixels) {
                Ok((rgba, w, h)) if (w, h) == (doc.width, doc.height) => {
                    let opaque = rgba.chunks_exact(4).all(|p| p[3] == 255);
                    ("png", rgba, opaque)
                }
                Ok((_, w, h)) => {
                    return (
                        None,
                        "png",
                        format!(
                            "expected PNG is {w}x{h}, canvas {}x{}",
                            doc.width, doc.height
                        ),
                    )
                }
                Err(e) => return (None, "png", format!("expected PNG unreadable: {e}")),
            }
        }
        _ => {
            return (
                None,
                "-",
                "no ground truth (no real stored composite, no expected PNG)".into(),
            )
        }
    };
    if opaque {
        // An opaque ground truth was flattened over white: do the same.
        flatten_over_white(&mut ours);
        flatten_over_white(&mut expected);
    }
    (
        Some(psnr_premultiplied(&ours, &expected).min(CAP_DB)),
        truth,
        note,
    )
}

#[test]
fn fidelity_against_photoshop() {
    let files = fixtures();
    if files.is_empty() {
        eprintln!("fixtures not found at {FIXTURES}; skipping");
        return;
    }
    let limits = Limits::default();
    let reference = psd_tools_scores();
    let mut rows = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(FIXTURES)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        let (ours, truth, note) = score(path, &limits);
        rows.push(Row {
            psd_tools: reference.get(&rel).copied(),
            file: rel,
            truth,
            ours,
            note,
        });
    }

    println!(
        "\n{:<62} {:>6} {:>8} {:>9}  notes",
        "file", "truth", "ours dB", "psd-tools"
    );
    for r in &rows {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        println!(
            "{:<62} {:>6} {:>8} {:>9}  {}",
            r.file,
            r.truth,
            f(r.ours),
            f(r.psd_tools),
            r.note
        );
    }
    let mut scored: Vec<f64> = rows.iter().filter_map(|r| r.ours).collect();
    scored.sort_by(f64::total_cmp);
    let median = if scored.is_empty() {
        0.0
    } else {
        scored[scored.len() / 2]
    };
    let over35 = scored.iter().filter(|&&s| s >= 35.0).count();
    let compared: Vec<_> = rows
        .iter()
        .filter_map(|r| Some((r.ours?, r.psd_tools?)))
        .collect();
    let at_least_psd_tools = compared.iter().filter(|(o, p)| *o + 0.05 >= *p).count();
    println!(
        "\nscored {} of {} files: median {:.1} dB, {} ({:.0}%) >= 35 dB, >= psd-tools on {} of {} ({:.0}%)",
        scored.len(),
        rows.len(),
        median,
        over35,
        100.0 * over35 as f64 / scored.len().max(1) as f64,
        at_least_psd_tools,
        compared.len(),
        100.0 * at_least_psd_tools as f64 / compared.len().max(1) as f64
    );

    let current: BTreeMap<String, f64> = rows
        .iter()
        .filter_map(|r| Some((r.file.clone(), (r.ours? * 10.0).floor() / 10.0)))
        .collect();
    if std::env::var_os("FIDELITY_WRITE_BASELINE").is_some() {
        std::fs::write(
            BASELINE,
            serde_json::to_string_pretty(&current).expect("json") + "\n",
        )
        .expect("write baseline");
        println!("baseline written to {BASELINE}");
        return;
    }
    let baseline: BTreeMap<String, f64> = std::fs::read_to_string(BASELINE)
        .ok()
        .map(|t| serde_json::from_str(&t).expect("baseline is JSON"))
        .unwrap_or_default();
    let mut regressions = Vec::new();
    for (file, &base) in &baseline {
        match current.get(file) {
            Some(&now) if now + 0.5 >= base => {}
            Some(&now) => regressions.push(format!("{file}: {now:.1} dB, baseline {base:.1} dB")),
            None => regressions.push(format!("{file}: no score any more, baseline {base:.1} dB")),
        }
    }
    assert!(
        regressions.is_empty(),
        "fidelity regressions:\n{}",
        regressions.join("\n")
    );
}
