//! Smart objects (placed layers): their contents and transforms.

/// How the placed contents map onto the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransformKind {
    /// The quad is a parallelogram (translate, scale, rotate, skew).
    Affine,
    /// The quad is a general quadrilateral.
    Perspective,
    /// A non-trivial Bezier mesh warp is applied.
    Warp,
}

/// A Bezier mesh warp over the contents (`warp` descriptor).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Warp {
    /// Warp style (`warpCustom`, `warpCylinder`, ... ; `quilt` for quilt warps).
    pub style: String,
    /// Warp value (bend) for named styles.
    pub value: f64,
    /// `warpValues` of newer files (named styles), as stored.
    pub values: Vec<f64>,
    /// Columns and rows of control points (4 x 4 for a simple warp, 4+3n for custom grids).
    pub grid: (u32, u32),
    /// Control points, row-major, in the contents' bounds space.
    pub points: Vec<(f64, f64)>,
    /// Bounds of the warped area (left, top, right, bottom) in contents space.
    pub bounds: [f64; 4],
    /// Quilt slice positions along x and y (quilt warps only).
    pub slices_x: Vec<f64>,
    /// Quilt slice positions along y.
    pub slices_y: Vec<f64>,
}

/// Where the contents come from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentsSource {
    /// Embedded in the document (`liFD`).
    Embedded,
    /// A linked external file (`liFE`); only its name is known.
    External,
    /// A Creative Cloud library or alias link.
    Alias,
    /// No linked-file record matches the placed layer.
    Missing,
}

/// A placed layer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SmartObject {
    /// The placed layer's unique ID (`Idnt`), which names its contents.
    pub placed_id: String,
    /// Size of the contents' canvas (width, height) in pixels.
    pub content_size: (f64, f64),
    /// Corners on the canvas: top-left, top-right, bottom-right, bottom-left, as x, y.
    pub quad: [f64; 8],
    /// How the contents are transformed.
    pub transform_kind: TransformKind,
    /// Mesh warp, when not the identity.
    pub warp: Option<Warp>,
    /// Where the contents come from.
    pub source: ContentsSource,
    /// File name of the contents.
    pub file_name: Option<String>,
    /// File type code of the contents (`png `, `8BPS`, ...).
    pub file_type: Option<String>,
    /// The contents' bytes when embedded.
    #[serde(skip)]
    pub data: Option<std::sync::Arc<Vec<u8>>>,
}

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::psd::descriptor::{self, Descriptor, Value};
use crate::psd::reader::Reader;
use std::sync::Arc;

/// One record of the document's linked-file blocks (`lnk2`, `lnkD`, `lnk3`).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedFile {
    /// Unique ID, matched by placed layers' `Idnt`.
    pub id: String,
    /// Original file name.
    pub name: String,
    /// File type code (`png `, `8BPB`, ...).
    pub file_type: String,
    /// Where the data lives.
    pub source: ContentsSource,
    /// Embedded bytes (`liFD` records), shared by every instance.
    pub data: Option<Arc<Vec<u8>>>,
}

/// Parses a linked-files block: a sequence of length-prefixed records.
pub fn parse_linked_files(data: &[u8], limits: &Limits) -> Result<Vec<LinkedFile>> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while r.remaining() >= 8 {
        let len = r.u64("linked file record length")?;
        if len == 0 {
            break;
        }
        let mut rec = r.sub(len, "linked file record")?;
        // Records are padded to 4 bytes.
        let pad = (4 - len % 4) % 4;
        if r.remaining() as u64 >= pad {
            r.skip(pad, "linked file padding")?;
        }
        let kind = rec.array::<4>("linked file type")?;
        let version = rec.u32("linked file version")?;
        let id = rec.pascal_string(1, "linked file id")?;
        let name = rec.unicode_string("linked file name")?;
        let file_type: String = rec
            .array::<4>("linked file type code")?
            .iter()
            .map(|&b| b as char)
            .collect();
        let _creator = rec.array::<4>("linked file creator")?;
        let data_len = rec.u64("linked file data length")?;
        let has_open_descriptor = rec.u8("linked file open descriptor flag")? != 0;
        if has_open_descriptor {
            descriptor::parse_versioned(&mut rec, limits.max_descriptor_depth)?;
        }
        let source = match &kind {
            b"liFD" => ContentsSource::Embedded,
            b"liFE" => ContentsSource::External,
            b"liFA" => ContentsSource::Alias,
            other => {
                return Err(Error::invalid(
                    "linked file type",
                    String::from_utf8_lossy(other),
                ))
            }
        };
        let data = if source == ContentsSource::Embedded {
            Error::check_limit(
                "embedded file size in bytes",
                data_len,
                limits.max_file_bytes,
            )?;
            Some(Arc::new(
                rec.bytes(data_len, "embedded file data")?.to_vec(),
            ))
        } else {
            None
        };
        let _ = version;
        out.push(LinkedFile {
            id,
            name,
            file_type,
            source,
            data,
        });
    }
    Ok(out)
}

/// Parses a placed layer. `key` is `SoLd` (descriptor form, also used for
/// `SoLE`) or `PlLd` (the legacy binary form); `legacy` is the layer's `PlLd`
/// block when present alongside `SoLd`.
pub fn parse_placed(
    key: &[u8; 4],
    data: &[u8],
    legacy: Option<&[u8]>,
    linked: &[LinkedFile],
    max_depth: u32,
) -> Result<SmartObject> {
    let _ = legacy;
    let mut r = Reader::new(data);
    let (placed_id, quad, non_affine, content_size, warp_desc) = if key == b"PlLd" {
        let _ty = r.array::<4>("placed layer type")?;
        let _version = r.u32("placed layer version")?;
        let id = r.pascal_string(1, "placed layer id")?;
        let _page = r.i32("page")?;
        let _pages = r.i32("total pages")?;
        let _aa = r.i32("anti-alias")?;
        let _kind = r.i32("placed layer kind")?;
        let mut quad = [0.0; 8];
        for q in &mut quad {
            *q = r.f64("placed transform")?;
        }
        let _warp_version = r.u32("warp version")?;
        let warp = descriptor::parse_versioned(&mut r, max_depth)?;
        (id, quad, None, None, Some(warp))
    } else {
        let ident = r.array::<4>("smart object identifier")?;
        if &ident != b"soLD" && &ident != b"soLE" {
            return Err(Error::invalid(
                "smart object identifier",
                String::from_utf8_lossy(&ident),
            ));
        }
        let _version = r.u32("smart object version")?;
        let d = descriptor::parse_versioned(&mut r, max_depth)?;
        let id = d
            .str("Idnt")
            .or_else(|| d.str("placed"))
            .unwrap_or_default()
            .to_string();
        let quad = eight(&d, "Trnf")
            .ok_or_else(|| Error::invalid("smart object", "no transform (Trnf)"))?;
        let non_affine = eight(&d, "nonAffineTransform");
        let size = d
            .desc("Sz  ")
            .and_then(|s| Some((s.f64("Wdth")?, s.f64("Hght")?)));
        // Quilt warps keep their mesh in `quiltWarp`; `warp` then holds the
        // plain envelope.
        let warp = d.desc("quiltWarp").or_else(|| d.desc("warp")).cloned();
        (id, quad, non_affine, size, warp)
    };
    for v in quad.iter().chain(non_affine.iter().flatten()) {
        if !v.is_finite() || v.abs() > 1e7 {
            return Err(Error::invalid(
                "smart object transform",
                format!("coordinate {v}"),
            ));
        }
    }
    let quad = non_affine.unwrap_or(quad);
    let warp = warp_desc.as_ref().and_then(parse_warp);
    let link = linked.iter().find(|l| l.id == placed_id);
    let content_size = content_size
        .or_else(|| {
            warp.as_ref()
                .map(|w| (w.bounds[2] - w.bounds[0], w.bounds[3] - w.bounds[1]))
        })
        .unwrap_or((0.0, 0.0));
    let warp_is_trivial = warp.as_ref().is_none_or(|w| w.is_identity());
    let transform_kind = if !warp_is_trivial {
        TransformKind::Warp
    } else if is_parallelogram(&quad) {
        TransformKind::Affine
    } else {
        TransformKind::Perspective
    };
    Ok(SmartObject {
        placed_id,
        content_size,
        quad,
        transform_kind,
        warp: warp.filter(|_| !warp_is_trivial),
        source: link.map_or(ContentsSource::Missing, |l| l.source.clone()),
        file_name: link.map(|l| l.name.clone()),
        file_type: link.map(|l| l.file_type.clone()),
        data: link.and_then(|l| l.data.clone()),
    })
}

fn eight(d: &Descriptor, key: &str) -> Option<[f64; 8]> {
    let vals: Vec<f64> = match d.get(key)? {
        Value::UnitFloats { values, .. } => values.clone(),
        Value::List(items) => items.iter().filter_map(Value::as_f64).collect(),
        _ => return None,
    };
    vals.try_into().ok()
}

/// True when the quad (TL, TR, BR, BL) is a parallelogram: TL + BR == TR + BL.
fn is_parallelogram(q: &[f64; 8]) -> bool {
    let scale = q.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let tol = 1e-6 * scale + 1e-3;
    ((q[0] + q[4]) - (q[2] + q[6])).abs() < tol && ((q[1] + q[5]) - (q[3] + q[7])).abs() < tol
}

fn parse_warp(d: &Descriptor) -> Option<Warp> {
    let style = d.enum_value("warpStyle").unwrap_or("warpNone").to_string();
    let value = d.f64("warpValue").unwrap_or(0.0);
    // Newer files store the bend of named styles in `warpValues`.
    let values: Vec<f64> = d
        .list("warpValues")
        .map(|l| l.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let b = d.desc("bounds")?;
    let bounds = [
        b.f64("Left")?,
        b.f64("Top ")?,
        b.f64("Rght")?,
        b.f64("Btom")?,
    ];
    let mut grid = (4u32, 4u32);
    let mut points = Vec::new();
    let (mut slices_x, mut slices_y) = (Vec::new(), Vec::new());
    if let Some(env) = d.desc("customEnvelopeWarp") {
        if let Some(mesh) = env.desc("meshPoints") {
            let h = mesh.floats("Hrzn").unwrap_or(&[]);
            let v = mesh.floats("Vrtc").unwrap_or(&[]);
            points = h.iter().zip(v).map(|(&x, &y)| (x, y)).collect();
        }
        // Slice positions come as a list, unit floats, or an object array
        // holding unit floats under the same key.
        let list = |k: &str| -> Option<Vec<f64>> {
            match env.get(k)? {
                Value::List(l) => Some(l.iter().filter_map(Value::as_f64).collect()),
                Value::UnitFloats { values, .. } => Some(values.clone()),
                v => v.as_descriptor()?.floats(k).map(<[f64]>::to_vec),
            }
        };
        slices_x = list("quiltSliceX").unwrap_or_default();
        slices_y = list("quiltSliceY").unwrap_or_default();
        let cols = grid_points(d.f64("deformNumCols"), &slices_x);
        let rows = grid_points(d.f64("deformNumRows"), &slices_y);
        grid = (cols, rows);
    }
    Some(Warp {
        style,
        value,
        values,
        grid,
        points,
        bounds,
        slices_x,
        slices_y,
    })
}

/// Control points along one side of a custom grid: the stored count when it
/// is a usable one, else 3 per quilt slice plus 1, else a plain 4.
fn grid_points(stored: Option<f64>, slices: &[f64]) -> u32 {
    match stored {
        Some(v) if (4.0..=10_000.0).contains(&v) => v as u32,
        _ if slices.len() >= 2 => 3 * (slices.len() as u32 - 1) + 1,
        _ => 4,
    }
}

impl Warp {
    /// True when the warp leaves the contents unchanged: no style, or a
    /// custom mesh whose control points form the plain rectilinear grid of
    /// its bounds.
    pub fn is_identity(&self) -> bool {
        match self.style.as_str() {
            "warpNone" => true,
            "warpCustom" => {
                let (cols, rows) = self.grid;
                if self.points.len() != (cols * rows) as usize || cols < 2 || rows < 2 {
                    return self.points.is_empty();
                }
                let [l, t, r, b] = self.bounds;
                let tol = 1e-3 * (r - l).abs().max((b - t).abs()).max(1.0);
                // Quilt grids place columns at slice positions; a plain grid
                // is evenly spaced between them, so test every point against
                // the bilinear position implied by its row and column.
                let xs = grid_positions(&self.slices_x, l, r, cols);
                let ys = grid_positions(&self.slices_y, t, b, rows);
                self.points.iter().enumerate().all(|(i, &(x, y))| {
                    let (c, rr) = (i % cols as usize, i / cols as usize);
                    (x - xs[c]).abs() < tol && (y - ys[rr]).abs() < tol
                })
            }
            _ => self.value.abs() < 1e-9 && self.values.is_empty(),
        }
    }
}

/// Positions of `n` control-point columns between `lo` and `hi`: thirds of
/// each quilt slice when slices are given, else evenly spaced.
fn grid_positions(slices: &[f64], lo: f64, hi: f64, n: u32) -> Vec<f64> {
    if slices.len() >= 2 && (slices.len() - 1) * 3 + 1 == n as usize {
        let mut out = Vec::with_capacity(n as usize);
        for w in slices.windows(2) {
            for k in 0..3 {
                out.push(w[0] + (w[1] - w[0]) * k as f64 / 3.0);
            }
        }
        out.push(*slices.last().unwrap_or(&hi));
        out
    } else {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n.max(2) - 1) as f64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallelogram_detection() {
        assert!(is_parallelogram(&[
            0.0, 0.0, 10.0, 0.0, 10.0, 5.0, 0.0, 5.0
        ]));
        assert!(is_parallelogram(&[
            2.0, 1.0, 12.0, 3.0, 10.0, 8.0, 0.0, 6.0
        ]));
        assert!(!is_parallelogram(&[
            0.0, 0.0, 10.0, 0.0, 9.0, 5.0, 1.0, 5.0
        ]));
    }

    #[test]
    fn identity_custom_warp() {
        let mut points = Vec::new();
        for r in 0..4 {
            for c in 0..4 {
                points.push((c as f64 * 10.0, r as f64 * 5.0));
            }
        }
        let mut w = Warp {
            style: "warpCustom".into(),
            value: 0.0,
            values: vec![],
            grid: (4, 4),
            points,
            bounds: [0.0, 0.0, 30.0, 15.0],
            slices_x: vec![],
            slices_y: vec![],
        };
        assert!(w.is_identity());
        w.points[5].0 += 2.0;
        assert!(!w.is_identity());
    }
}

/// True when an inner layer of a layered smart object (a nested PSD/PSB)
/// is marked as the design slot: the layer a render replaces with the
/// artwork, keeping the inner layers above and below it. Photoshop has no
/// such mark, so templates use a name; we accept the names mockup authors
/// use, compared without case and surrounding spaces or brackets:
/// "Your Design", "Your Design Here", "Place Your Design Here", "Design
/// Here", "Place Design Here", "Insert Design", "Replace Me", or any name
/// starting with "@design".
pub fn is_design_slot(name: &str) -> bool {
    let n = name
        .trim()
        .trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | '<' | '>' | '{' | '}'))
        .trim()
        .to_lowercase();
    const NAMES: [&str; 7] = [
        "your design",
        "your design here",
        "place your design here",
        "design here",
        "place design here",
        "insert design",
        "replace me",
    ];
    NAMES.contains(&n.as_str()) || n.starts_with("@design")
}

#[cfg(test)]
mod slot_tests {
    use super::is_design_slot;

    #[test]
    fn design_slot_names() {
        for yes in [
            "Your Design Here",
            " [your design] ",
            "@design",
            "@Design front",
            "REPLACE ME",
        ] {
            assert!(is_design_slot(yes), "{yes}");
        }
        for no in ["Design", "Background", "design texture", "Layer 1", ""] {
            assert!(!is_design_slot(no), "{no}");
        }
    }
}
