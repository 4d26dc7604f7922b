//! Builds the [`Document`] from the raw file structures: the layer tree from
//! section dividers, pixels in the working space, masks, and every layer's
//! typed blocks.

use crate::color::{ColorInfo, ColorMode};
use crate::doc::pixels::{LayerPixels, Merged};
use crate::doc::smart_object::{self, LinkedFile};
use crate::doc::{AdvancedBlending, BlendIf, Document, Layer, LayerKind, LayerMask, Warning};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::psd::channels::Channel;
use crate::psd::reader::Reader;
use crate::psd::{LayerRecord, PsdFile};
use crate::render::blend::BlendMode;
use crate::render::raster::{Plane, Rect};
use crate::render::{adjust, effects, fill, pattern, vector_mask};
use uuid::Uuid;

/// Namespace of layer UUIDs (a fixed random UUID, so our UUIDs never collide
/// with other v5 names).
const LAYER_NAMESPACE: Uuid = Uuid::from_u128(0x6d6f_636b_7570_4c61_7965_7255_5549_4431);

/// Builds the document model.
pub fn build(bytes: &[u8], mut file: PsdFile<'_>, limits: &Limits) -> Result<Document> {
    // A fast non-cryptographic digest is enough: it only has to make UUIDs
    // stable for a file and distinct between files.
    let digest: [u8; 16] = xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes();
    let header = file.header;
    let mut info = ColorInfo {
        mode: Some(header.mode),
        depth: header.depth,
        icc_profile: file.resource(1039).map(<[u8]>::to_vec),
        palette: None,
        color_mode_data: file.color_mode_data.to_vec(),
    };
    if header.mode == ColorMode::Indexed {
        info.palette = palette(file.color_mode_data);
    }
    let mut warnings = Vec::new();

    let mut patterns = Vec::new();
    for key in [b"Patt", b"Pat2", b"Pat3"] {
        for data in file.blocks(key) {
            match pattern::parse_patterns(data, &info) {
                Ok(p) => patterns.extend(p),
                Err(e) => warnings.push(Warning {
                    code: "invalid_pattern",
                    layer: None,
                    message: e.to_string(),
                }),
            }
        }
    }
    let mut linked = Vec::new();
    for key in [b"lnk2", b"lnkD", b"lnk3", b"lnkE"] {
        for data in file.blocks(key) {
            match smart_object::parse_linked_files(data, limits) {
                Ok(l) => linked.extend(l),
                Err(e) => warnings.push(Warning {
                    code: "invalid_linked_file",
                    layer: None,
                    message: e.to_string(),
                }),
            }
        }
    }

    let ctx = BuildCtx {
        info: &info,
        limits,
        digest: &digest,
        width: header.width,
        height: header.height,
        global_light: effects::global_light(file.resource(1037), file.resource(1049)),
        linked: &linked,
    };
    let layers = build_tree(&mut file.layers, &ctx, &mut warnings)?;

    // The stored composite stays as decoded channels until someone asks
    // for it: rendering never needs it (but for flat documents), and
    // converting it costs a full-canvas pass and buffer.
    let merged_alpha = merged_has_transparency(&file);
    let merged = file.merged.take().and_then(|mut chs| {
        let n = header.mode.color_channels();
        let alpha = if merged_alpha && chs.len() > n {
            Some(chs.swap_remove(n))
        } else {
            None
        };
        chs.truncate(n);
        let unmatte =
            alpha.is_some() && matches!(header.mode, ColorMode::Rgb | ColorMode::Grayscale);
        let pixels = LayerPixels::new(
            Rect::new(0, 0, header.width, header.height),
            header.mode,
            chs,
            alpha,
            info.palette.clone(),
        )?;
        Some(Merged::new(pixels, unmatte))
    });
    let merged_is_reliable = file.layers.is_empty() || has_real_merged_data(file.resource(1057));

    Ok(Document {
        width: header.width,
        height: header.height,
        psb: header.psb,
        color: info.clone(),
        layers,
        merged,
        merged_is_reliable,
        patterns,
        digest,
        resolution_dpi: file.resource(1005).and_then(resolution_dpi),
        warnings,
    })
}

struct BuildCtx<'a> {
    info: &'a ColorInfo,
    limits: &'a Limits,
    digest: &'a [u8; 16],
    width: u32,
    height: u32,
    /// Document-wide light angle and altitude for effects using global light.
    global_light: (f32, f32),
    linked: &'a [LinkedFile],
}

/// Whether the merged image's first extra channel is its transparency.
/// Photoshop marks it with a `Mtrn`/`Mt16`/`Mt32` block or a negative layer
/// count; a lone extra channel in a document without layers is transparency
/// too unless the alpha identifiers resource (1053) names it a saved
/// selection.
fn merged_has_transparency(file: &PsdFile<'_>) -> bool {
    let expected = file.header.mode.color_channels();
    if file.header.channels as usize <= expected {
        return false;
    }
    if file.merged_alpha
        || [b"Mtrn", b"Mt16", b"Mt32"]
            .iter()
            .any(|k| file.blocks(k).next().is_some())
    {
        return true;
    }
    if let Some(ids) = file.resource(1053) {
        if !ids.is_empty()
            && ids
                .chunks_exact(4)
                .all(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) > 0)
        {
            return false;
        }
    }
    file.layers.is_empty()
}

/// The horizontal resolution in resource 1005 (ResolutionInfo: 16.16 fixed
/// point, then its unit: 1 pixels per inch, 2 pixels per centimetre).
fn resolution_dpi(data: &[u8]) -> Option<f64> {
    let mut r = Reader::new(data);
    let fixed = r.u32("resolution").ok()? as f64 / 65536.0;
    let unit = r.u16("resolution unit").ok()?;
    let dpi = if unit == 2 { fixed * 2.54 } else { fixed };
    (dpi.is_finite() && (1.0..=100_000.0).contains(&dpi)).then_some(dpi)
}

/// Resource 1057 (version info) says whether the merged image is real
/// ("Maximize Compatibility"). Without it, assume it is.
fn has_real_merged_data(data: Option<&[u8]>) -> bool {
    match data {
        Some(d) if d.len() >= 5 => d[4] != 0,
        _ => true,
    }
}

/// The 768-byte palette of indexed documents (all reds, greens, blues).
fn palette(data: &[u8]) -> Option<Vec<[u8; 3]>> {
    if data.len() < 768 {
        return None;
    }
    Some(
        (0..256)
            .map(|i| [data[i], data[256 + i], data[512 + i]])
            .collect(),
    )
}

/// Builds the layer tree from records (bottom-most first) using section
/// dividers: a divider of type 3 opens a group below its children, the
/// group's own record (type 1 or 2) closes it above them.
fn build_tree(
    records: &mut [LayerRecord<'_>],
    ctx: &BuildCtx<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Layer>> {
    let mut stack: Vec<Vec<Layer>> = vec![Vec::new()];
    for (index, rec) in records.iter_mut().enumerate() {
        let section = rec
            .block(b"lsct")
            .or_else(|| rec.block(b"lsdk"))
            .and_then(|d| {
                let mut r = Reader::new(d);
                r.u32("section type").ok()
            });
        match section {
            Some(3) => {
                Error::check_limit(
                    "group nesting depth",
                    stack.len() as u64,
                    ctx.limits.max_group_depth as u64,
                )?;
                stack.push(Vec::new());
            }
            Some(t @ (1 | 2)) => {
                // A group closer with no opener is tolerated as an empty group.
                let children = if stack.len() > 1 {
                    stack.pop().unwrap_or_default()
                } else {
                    Vec::new()
                };
                let artboard = artboard(rec, ctx);
                let layer = build_layer(
                    rec,
                    index,
                    LayerKind::Group {
                        children,
                        open: t == 1,
                        artboard,
                    },
                    ctx,
                    warnings,
                )?;
                stack
                    .last_mut()
                    .expect("root level always present")
                    .push(layer);
            }
            _ => {
                let layer = build_leaf(rec, index, ctx, warnings)?;
                stack
                    .last_mut()
                    .expect("root level always present")
                    .push(layer);
            }
        }
    }
    // Unclosed groups: flatten their children into the parent.
    while stack.len() > 1 {
        let orphans = stack.pop().unwrap_or_default();
        stack
            .last_mut()
            .expect("root level always present")
            .extend(orphans);
    }
    Ok(stack.pop().unwrap_or_default())
}

fn build_leaf(
    rec: &mut LayerRecord<'_>,
    index: usize,
    ctx: &BuildCtx<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Layer> {
    let name = layer_name(rec);
    let max_depth = ctx.limits.max_descriptor_depth;
    let mut warn = |code: &'static str, message: String| {
        warnings.push(Warning {
            code,
            layer: Some(name.clone()),
            message,
        })
    };
    let mut kind = LayerKind::Pixel;
    for b in &rec.tagged {
        if adjust::ADJUSTMENT_KEYS.contains(&&b.key) {
            // Modern brightness/contrast layers write an all-zero `brit` and
            // keep the real values (and the legacy flag) in `CgEd`. Other
            // adjustments carry `CgEd` too, for preset names only, so it is
            // read only next to `brit`.
            let cged = (&b.key == b"brit").then(|| rec.block(b"CgEd")).flatten();
            let parsed = match cged.map(|d| adjust::parse(b"CgEd", d, max_depth)) {
                Some(Ok(Some(a))) => Ok(Some(a)),
                _ => adjust::parse(&b.key, b.data, max_depth),
            };
            match parsed {
                Ok(Some(a)) => kind = LayerKind::Adjustment(a),
                Ok(None) => {}
                Err(e) => warn("invalid_adjustment", e.to_string()),
            }
        } else if fill::FILL_KEYS.contains(&&b.key) {
            match fill::parse(&b.key, b.data, max_depth) {
                Ok(Some(mut f)) => {
                    // Patterns tile from the layer's reference point; gradients
                    // align with the shape's path bounds.
                    f.reference_point = rec
                        .block(b"fxrp")
                        .and_then(|d| fill::parse_reference_point(d).ok());
                    f.shape_bounds = rec
                        .block(b"vmsk")
                        .or_else(|| rec.block(b"vsms"))
                        .and_then(|d| vector_mask::parse(d).ok())
                        .and_then(|vm| vm.bounds(ctx.width, ctx.height));
                    kind = LayerKind::Fill(f)
                }
                Ok(None) => {}
                Err(e) => warn("invalid_fill", e.to_string()),
            }
        }
    }
    if matches!(kind, LayerKind::Pixel) {
        if let Some(d) = rec
            .block(b"SoLd")
            .or_else(|| rec.block(b"SoLE"))
            .or_else(|| rec.block(b"PlLd"))
        {
            let key: &[u8; 4] = if rec.block(b"SoLd").is_some() || rec.block(b"SoLE").is_some() {
                b"SoLd"
            } else {
                b"PlLd"
            };
            match smart_object::parse_placed(key, d, rec.block(b"PlLd"), ctx.linked, max_depth) {
                Ok(so) => kind = LayerKind::SmartObject(Box::new(so)),
                Err(e) => warn("invalid_smart_object", e.to_string()),
            }
        } else if let Some(d) = rec.block(b"TySh") {
            match crate::doc::text::parse_tysh(d, max_depth) {
                Ok(t) => kind = LayerKind::Text(t),
                Err(e) => warn("invalid_text", e.to_string()),
            }
        } else if rec.block(b"vscg").is_some() || rec.block(b"vstk").is_some() {
            kind = LayerKind::Shape;
        }
    }
    build_layer(rec, index, kind, ctx, warnings)
}

/// Artboard settings from an `artb`/`artd`/`abdd` block.
fn artboard(rec: &LayerRecord<'_>, ctx: &BuildCtx<'_>) -> Option<crate::doc::Artboard> {
    let data = rec
        .block(b"artb")
        .or_else(|| rec.block(b"artd"))
        .or_else(|| rec.block(b"abdd"))?;
    let mut r = Reader::new(data);
    let d =
        crate::psd::descriptor::parse_versioned(&mut r, ctx.limits.max_descriptor_depth).ok()?;
    let b = d.desc("artboardRect")?;
    let to_i = |v: f64| v.clamp(-1e7, 1e7).round() as i32;
    let rect = Rect {
        left: to_i(b.f64("Left")?),
        top: to_i(b.f64("Top ")?),
        right: to_i(b.f64("Rght")?),
        bottom: to_i(b.f64("Btom")?),
    };
    let white = crate::color::working_from_srgb8(ctx.info, [255, 255, 255]);
    let background = match d
        .f64("artboardBackgroundType")
        .map(|v| v as i32)
        .unwrap_or(1)
    {
        2 => Some(crate::color::working_from_srgb8(ctx.info, [0, 0, 0])),
        3 => None,
        4 => d
            .desc("Clr ")
            .and_then(|c| crate::color::descriptor_color(c, ctx.info))
            .or(Some(white)),
        _ => Some(white),
    };
    Some(crate::doc::Artboard { rect, background })
}

fn layer_name(rec: &LayerRecord<'_>) -> String {
    rec.block(b"luni")
        .and_then(|d| Reader::new(d).unicode_string("unicode layer name").ok())
        .unwrap_or_else(|| rec.name.clone())
}

fn build_layer(
    rec: &mut LayerRecord<'_>,
    index: usize,
    kind: LayerKind,
    ctx: &BuildCtx<'_>,
    warnings: &mut Vec<Warning>,
) -> Result<Layer> {
    let name = layer_name(rec);
    let max_depth = ctx.limits.max_descriptor_depth;
    let id = rec
        .block(b"lyid")
        .and_then(|d| Reader::new(d).u32("layer id").ok());
    let mut uuid_name = Vec::with_capacity(40);
    uuid_name.extend_from_slice(ctx.digest);
    uuid_name.extend_from_slice(&(index as u64).to_be_bytes());
    let uuid = Uuid::new_v5(&LAYER_NAMESPACE, &uuid_name);

    let mut blend_mode = BlendMode::from_key(&rec.blend_key).unwrap_or_else(|| {
        warnings.push(Warning {
            code: "unknown_blend_mode",
            layer: Some(name.clone()),
            message: format!(
                "blend mode key {:?} treated as normal",
                String::from_utf8_lossy(&rec.blend_key)
            ),
        });
        BlendMode::Normal
    });
    // The section divider may carry the group's real blend mode (pass through).
    if let Some(d) = rec.block(b"lsct").or_else(|| rec.block(b"lsdk")) {
        if d.len() >= 12 && &d[4..8] == b"8BIM" {
            if let Some(m) = BlendMode::from_key(&[d[8], d[9], d[10], d[11]]) {
                blend_mode = m;
            }
        }
    }
    if blend_mode == BlendMode::PassThrough && !matches!(kind, LayerKind::Group { .. }) {
        blend_mode = BlendMode::Normal;
    }

    let fill_opacity = rec
        .block(b"iOpa")
        .and_then(|d| d.first())
        .map_or(1.0, |&v| v as f32 / 255.0);
    let mut advanced = AdvancedBlending::default();
    if let Some(&v) = rec.block(b"knko").and_then(|d| d.first()) {
        advanced.knockout = v;
    }
    if let Some(&v) = rec.block(b"clbl").and_then(|d| d.first()) {
        advanced.blend_clipped_as_group = v != 0;
    }
    if let Some(&v) = rec.block(b"infx").and_then(|d| d.first()) {
        advanced.blend_interior_as_group = v != 0;
    }
    if let Some(&v) = rec.block(b"tsly").and_then(|d| d.first()) {
        advanced.transparency_shapes = v != 0;
    }
    if let Some(&v) = rec.block(b"lmgm").and_then(|d| d.first()) {
        advanced.mask_hides_effects = v != 0;
    }
    if let Some(&v) = rec.block(b"vmgm").and_then(|d| d.first()) {
        advanced.vector_mask_hides_effects = v != 0;
    }
    if let Some(d) = rec.block(b"brst") {
        // Channel blending restrictions: the listed channels are excluded.
        let mut r = Reader::new(d);
        while let Ok(ch) = r.u32("restricted channel") {
            if ch < 8 {
                advanced.channel_mask &= !(1 << ch);
            }
        }
    }

    let is_group = matches!(kind, LayerKind::Group { .. });
    let pixels = if is_group {
        None
    } else {
        let mode = ctx.info.mode.unwrap_or(ColorMode::Rgb);
        // The record's colour and transparency channels move into the
        // layer (nothing reads them from the record afterwards; its masks
        // stay): copying them cost a pass over every layer's pixels.
        let mut take = |id: i16| {
            let i = rec.channels.iter().position(|ch| ch.id == id)?;
            Some(rec.channels.remove(i))
        };
        let colour: Vec<Channel> = (0..mode.color_channels() as i16)
            .map_while(&mut take)
            .collect();
        let alpha = take(-1);
        LayerPixels::new(rec.rect, mode, colour, alpha, ctx.info.palette.clone())
    };

    // With both a pixel and a vector mask, channel -2 holds Photoshop's
    // rendering of the vector mask and the user's pixel mask is the "real"
    // mask in channel -3, with its own bounds, default and flags. A mask
    // flagged as rendered from vector data is no pixel mask at all.
    let mask = rec.mask.as_ref().and_then(|m| {
        let (id, rect, default, flags) = match m.real {
            Some((rect, default, flags)) if rec.channels.iter().any(|c| c.id == -3) => {
                (-3, rect, default, flags)
            }
            _ if m.flags & 0x08 != 0 => return None,
            _ => (-2, m.rect, m.default_color, m.flags),
        };
        let (rect, data) = match rec.channels.iter().find(|c| c.id == id && c.is_complete()) {
            Some(ch) => {
                let mut data = vec![0.0; ch.rect.area() as usize];
                ch.samples_into(&mut data);
                (ch.rect, data)
            }
            // An empty mask is all "default colour".
            None if rect.is_empty() => (Rect::default(), Vec::new()),
            // Bounds without pixels: nothing usable.
            None => return None,
        };
        Some(LayerMask {
            plane: Plane {
                rect,
                data,
                outside: default as f32 / 255.0,
            },
            disabled: flags & 0x02 != 0,
            density: m.density.map_or(1.0, |d| d as f32 / 255.0),
            feather: m.feather.unwrap_or(0.0) as f32,
        })
    });

    let vector_mask = match rec.block(b"vmsk").or_else(|| rec.block(b"vsms")) {
        Some(d) => match vector_mask::parse(d) {
            Ok(v) => Some(v),
            Err(e) => {
                warnings.push(Warning {
                    code: "invalid_vector_mask",
                    layer: Some(name.clone()),
                    message: e.to_string(),
                });
                None
            }
        },
        None => None,
    };

    let effects = match rec
        .block(b"lfx2")
        .or_else(|| rec.block(b"lmfx"))
        .or_else(|| rec.block(b"lfxs"))
    {
        Some(d) => match effects::parse(d, max_depth) {
            Ok(mut e) if !e.is_empty() => {
                (e.global_angle, e.global_altitude) = ctx.global_light;
                if let Some(p) = rec
                    .block(b"fxrp")
                    .and_then(|d| fill::parse_reference_point(d).ok())
                {
                    e.reference_point = p;
                }
                Some(e)
            }
            Ok(_) => None,
            Err(e) => {
                warnings.push(Warning {
                    code: "invalid_effects",
                    layer: Some(name.clone()),
                    message: e.to_string(),
                });
                None
            }
        },
        None => {
            if rec.block(b"lrFX").is_some() {
                warnings.push(Warning {
                    code: "unsupported_effect",
                    layer: Some(name.clone()),
                    message:
                        "legacy effects block (lrFX) without an lfx2 descriptor is not rendered"
                            .into(),
                });
            }
            None
        }
    };

    let blend_if = blend_if(&rec.blending_ranges);

    Ok(Layer {
        uuid,
        id,
        name,
        visible: rec.flags & 0x02 == 0,
        opacity: rec.opacity as f32 / 255.0,
        fill_opacity,
        blend_mode,
        clipping: rec.clipping != 0,
        rect: rec.rect,
        pixels,
        mask,
        vector_mask,
        blend_if,
        effects,
        advanced,
        kind,
    })
}

/// Blend-if ranges, `None` when every range is the full default (0-0, 255-255).
fn blend_if(ranges: &[([u8; 4], [u8; 4])]) -> Option<BlendIf> {
    let is_default = |r: &[u8; 4]| r[0] == 0 && r[1] == 0 && r[2] == 255 && r[3] == 255;
    if ranges.iter().all(|(s, d)| is_default(s) && is_default(d)) {
        return None;
    }
    let f = |r: &[u8; 4]| r.map(|v| v as f32 / 255.0);
    Some(BlendIf {
        channels: ranges.iter().map(|(s, d)| (f(s), f(d))).collect(),
    })
}
