//! The layer-tree compositor: walks the tree bottom to top and blends every
//! visible layer into its group's buffer the way Photoshop does.
//!
//! Model (per group, bottom to top):
//! * a *clipping group* is a base layer and the run of clipped layers above
//!   it; the clipped layers blend onto the base's pixels treating them as
//!   opaque and keep the base's alpha, then the whole is blended with the
//!   base's mode, opacity, fill opacity and effects;
//! * an isolated group (any mode but pass-through) composites its children
//!   into a transparent buffer, which is then blended like a layer;
//! * a pass-through group composites its children straight into the
//!   backdrop, and its opacity and masks fade between before and after;
//! * an adjustment layer replaces the backdrop's colours by adjusted ones,
//!   faded by its opacity and masks; alpha is untouched.

use crate::doc::pixels::{LayerPixels, RowScratch};
use crate::doc::{Document, Layer, LayerKind, Warning};
use crate::error::{Error, Result};
use crate::render::blend::{self, BlendMode};
use crate::render::effects::{self, LayerBlend};
use crate::render::raster::{Plane, Raster, Rect};
use crate::render::{adjust, fill, vector_mask, Context};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct CompositeOptions {
    /// Layers to treat as hidden (by UUID), in addition to hidden ones.
    pub hidden: HashSet<Uuid>,
    /// Layers whose pixels are replaced (by UUID): canvas rasters of new
    /// contents, for smart objects placed through the layer's transform.
    /// Applies to layers that draw stored pixels (pixel, smart object and
    /// text layers). The layer's masks, effects, clipping and blending
    /// apply to them as to the stored pixels.
    pub replacements: HashMap<Uuid, Raster>,
    /// Composite only this part of the canvas (`None`: all of it). Every
    /// pixel of the result is the full composite's, except within
    /// [`effect_reach`] of the region's edges, where effects and groups
    /// with effects do not see what lies outside. Live previews recomposite
    /// just the part a smart object can change this way.
    pub region: Option<Rect>,
}

/// A rendered canvas and what could not be rendered faithfully.
#[derive(Debug, Clone)]
pub struct Composite {
    /// The canvas in working space, straight alpha.
    pub raster: Raster,
    /// Machine-readable notes on unsupported features met while rendering.
    pub warnings: Vec<Warning>,
}

/// Re-composites the whole document from its layers.
pub fn composite_document(
    doc: &Document,
    limits: &crate::Limits,
    opts: &CompositeOptions,
) -> Result<Composite> {
    let canvas = Rect::new(0, 0, doc.width, doc.height);
    Error::check_limit("canvas pixels", canvas.area(), limits.max_canvas_pixels)?;
    // What is composited; `canvas` stays the document's frame of
    // reference (gradient and pattern origins, vector mask coordinates).
    let area = opts.region.map_or(canvas, |r| r.intersect(&canvas));
    let ctx = Context {
        info: &doc.color,
        patterns: &doc.patterns,
        canvas,
        limits,
    };
    let mut state = State {
        ctx,
        area,
        opts,
        warnings: Vec::new(),
        warned: HashSet::new(),
    };
    let raster = if doc.layers.is_empty() {
        // A flat document is its merged image.
        match &doc.merged {
            Some(m) => crop(m.raster(), area),
            None => Raster::transparent(area),
        }
    } else {
        // Most templates start with an opaque background layer: the canvas
        // is then that layer's pixels, converted straight into it rather
        // than blended onto a zeroed full-canvas buffer.
        let (mut raster, rest) = match state.canvas_from_bottom_layer(&doc.layers) {
            Some((r, rest)) => (r, rest),
            None => (Raster::transparent(area), &doc.layers[..]),
        };
        state.composite_layers(rest, &mut raster, 0, &KoBase::Transparent)?;
        raster
    };
    Ok(Composite {
        raster,
        warnings: state.warnings,
    })
}

struct State<'a> {
    ctx: Context<'a>,
    /// The part of the canvas being composited.
    area: Rect,
    opts: &'a CompositeOptions,
    warnings: Vec<Warning>,
    warned: HashSet<(String, &'static str, String)>,
}

impl State<'_> {
    fn warn(&mut self, layer: &Layer, code: &'static str, message: String) {
        if self
            .warned
            .insert((layer.name.clone(), code, message.clone()))
        {
            self.warnings.push(Warning {
                code,
                layer: Some(layer.name.clone()),
                message,
            });
        }
    }

    fn is_visible(&self, layer: &Layer) -> bool {
        layer.visible && !self.opts.hidden.contains(&layer.uuid)
    }

    /// When the bottom layer would be streamed in Normal mode at full
    /// opacity, without masks, onto the transparent canvas and covers all
    /// of the area composited, the canvas it produces (and the layers left
    /// to composite).
    fn canvas_from_bottom_layer<'l>(&self, layers: &'l [Layer]) -> Option<(Raster, &'l [Layer])> {
        let base = layers.first()?;
        let px = base.pixels.as_ref()?;
        let canvas = self.area;
        // The layers clipped to it come next; the rest starts after them.
        let clipped = layers[1..].iter().take_while(|l| l.clipping).count();
        let rest = &layers[1 + clipped..];
        let plain = self.is_visible(base)
            && !self.opts.replacements.contains_key(&base.uuid)
            && base.effects.is_none()
            && base.blend_if.is_none()
            && base.advanced.knockout == 0
            && layers[1..1 + clipped].iter().all(|c| !self.is_visible(c))
            && matches!(
                base.kind,
                LayerKind::Pixel | LayerKind::SmartObject(_) | LayerKind::Text(_)
            )
            && base.blend_mode == BlendMode::Normal
            && base.opacity >= 1.0
            && base.fill_opacity >= 1.0
            && base.mask.as_ref().is_none_or(|m| m.disabled)
            && base.vector_mask.as_ref().is_none_or(|v| v.disabled)
            && px.rect.intersect(&canvas) == canvas;
        if !plain {
            return None;
        }
        let mut raster = px.to_raster(canvas);
        for (c, a) in raster.color.iter_mut().zip(&mut raster.alpha) {
            if *a < 1.0 {
                blend::normal_onto_transparent(c, a);
            }
        }
        Some((raster, rest))
    }

    /// Whether an isolated group can be drawn as if it were not there:
    /// Normal mode at full opacity, no masks, effects, blend-if, knockout or
    /// visible clipped layers, and every child a plain Normal layer
    /// (pixels, smart object or text; no clipping, effects, blend-if or
    /// knockout; its own masks and opacity are fine).
    fn is_see_through_group(&self, group: &Layer, children: &[Layer], clipped: &[Layer]) -> bool {
        let plain = |l: &Layer| {
            l.blend_mode == BlendMode::Normal
                && l.effects.is_none()
                && l.blend_if.is_none()
                && l.advanced.knockout == 0
        };
        plain(group)
            && group.opacity >= 1.0
            && group.fill_opacity >= 1.0
            && group.mask.as_ref().is_none_or(|m| m.disabled)
            && group.vector_mask.as_ref().is_none_or(|v| v.disabled)
            && clipped.iter().all(|c| !self.is_visible(c))
            && children.iter().all(|c| {
                plain(c)
                    && !c.clipping
                    && matches!(
                        c.kind,
                        LayerKind::Pixel | LayerKind::SmartObject(_) | LayerKind::Text(_)
                    )
            })
    }

    /// Composites a group's layers into `dst`. `ko` is what knockout layers
    /// in this group knock out to: the group's initial backdrop.
    fn composite_layers(
        &mut self,
        layers: &[Layer],
        dst: &mut Raster,
        depth: u32,
        ko: &KoBase,
    ) -> Result<()> {
        Error::check_limit(
            "group nesting depth",
            depth as u64,
            self.ctx.limits.max_group_depth as u64,
        )?;
        let mut i = 0;
        while i < layers.len() {
            let base = &layers[i];
            let mut j = i + 1;
            while j < layers.len()
                && layers[j].clipping
                && !matches!(base.kind, LayerKind::Adjustment(_))
            {
                j += 1;
            }
            if self.is_visible(base) {
                self.composite_clipping_group(base, &layers[i + 1..j], dst, depth, ko)?;
            }
            i = j;
        }
        Ok(())
    }

    /// Composites `base` with the layers clipped to it.
    fn composite_clipping_group(
        &mut self,
        base: &Layer,
        clipped: &[Layer],
        dst: &mut Raster,
        depth: u32,
        ko: &KoBase,
    ) -> Result<()> {
        match &base.kind {
            LayerKind::Adjustment(adj) => {
                self.apply_adjustment(base, adj, dst);
                return Ok(());
            }
            // A pass-through group with effects needs its own buffer for the
            // effects to outline, and one with layers clipped to it needs one
            // to clip them to: Photoshop draws both like isolated groups
            // (psd-tools' passthrough_clipping_mask_adjustment shows it: the
            // adjustment inside such a group no longer reaches below it).
            LayerKind::Group {
                children,
                artboard: None,
                ..
            } if base.blend_mode == BlendMode::PassThrough
                && base.effects.is_none()
                && clipped.is_empty() =>
            {
                self.composite_pass_through(base, children, dst, depth)?;
                return Ok(());
            }
            // An isolated Normal group at full opacity, with no masks or
            // effects, over children that are all plain Normal layers, is
            // the same as drawing those children straight onto the
            // backdrop (source-over is associative): skip its buffer.
            LayerKind::Group {
                children,
                artboard: None,
                ..
            } if self.is_see_through_group(base, children, clipped) => {
                self.composite_layers(children, dst, depth + 1, ko)?;
                return Ok(());
            }
            _ => {}
        }
        let simple = base.effects.is_none()
            && base.blend_if.is_none()
            && base.advanced.knockout == 0
            && clipped.iter().all(|c| !self.is_visible(c))
            && !self.opts.replacements.contains_key(&base.uuid)
            && matches!(
                base.kind,
                LayerKind::Pixel | LayerKind::SmartObject(_) | LayerKind::Text(_)
            );
        if let (true, Some(px)) = (simple, &base.pixels) {
            self.stream_layer(base, px, dst);
            return Ok(());
        }
        let Some(Content {
            raster: mut content,
            shape_applied,
        }) = self.layer_content(base, dst.rect, depth)?
        else {
            return Ok(());
        };
        self.apply_masks_to(base, &mut content, shape_applied);
        if !base.advanced.blend_clipped_as_group && !clipped.is_empty() {
            // "Blend Clipped Layers as Group" off: every clipped layer blends
            // with what lies below on its own, its alpha limited by the base's.
            self.blend_layer(base, &content, dst, Some(ko));
            let shape = Plane {
                rect: content.rect,
                data: content.alpha,
                outside: 0.0,
            };
            for c in clipped {
                if !self.is_visible(c) || matches!(c.kind, LayerKind::Adjustment(_)) {
                    continue;
                }
                let Some(Content {
                    raster: mut cc,
                    shape_applied,
                }) = self.layer_content(c, shape.rect, depth)?
                else {
                    continue;
                };
                self.apply_masks_to(c, &mut cc, shape_applied);
                multiply_alpha(&mut cc, &shape, 1.0);
                self.blend_layer(c, &cc, dst, None);
            }
            return Ok(());
        }
        for c in clipped {
            if self.is_visible(c) {
                self.composite_clipped(c, &mut content, depth)?;
            }
        }
        self.blend_layer(base, &content, dst, Some(ko));
        Ok(())
    }

    /// Composites a plain layer (no effects, clipping, blend-if or
    /// knockout) row by row straight from its stored channels, without
    /// building a full-size raster of it first: most template layers take
    /// this path, and it saves a pass over memory for each.
    fn stream_layer(&mut self, layer: &Layer, px: &LayerPixels, dst: &mut Raster) {
        let r = px.rect.intersect(&dst.rect);
        if r.is_empty() {
            return;
        }
        let planes = self.mask_planes(layer, r, false);
        let (mut color, mut alpha) = (
            Vec::with_capacity(r.width() as usize),
            Vec::with_capacity(r.width() as usize),
        );
        let mut scratch = RowScratch::default();
        for y in r.top..r.bottom {
            color.clear();
            alpha.clear();
            px.row_into(y, r.left, r.right, &mut color, &mut alpha, &mut scratch);
            for (plane, density) in &planes {
                for (i, a) in alpha.iter_mut().enumerate() {
                    *a *= 1.0 - density * (1.0 - plane.at(r.left + i as i32, y));
                }
            }
            let (dc, da) = dst.span_mut(y, r.left, r.right);
            blend::composite_span(
                layer.blend_mode,
                dc,
                da,
                &color,
                &alpha,
                layer.opacity,
                layer.fill_opacity,
                None,
                r.left,
                y,
            );
        }
    }

    /// Blends a finished layer (content with masks applied) with its mode,
    /// opacity, fill opacity, blend-if and effects.
    fn blend_layer(
        &mut self,
        layer: &Layer,
        content: &Raster,
        dst: &mut Raster,
        ko: Option<&KoBase>,
    ) {
        let masked;
        let content = match &layer.blend_if {
            Some(bi) => {
                let mut c = content.clone();
                apply_blend_if(bi, &mut c, dst, gray_method(self.ctx.info));
                masked = c;
                &masked
            }
            None => content,
        };
        match ko {
            Some(ko) if layer.advanced.knockout != 0 => {
                self.blend_knockout(layer, content, dst, ko)
            }
            _ => self.blend_onto(layer, content, dst),
        }
    }

    /// Knockout: the layer is composited onto the group's initial backdrop
    /// instead of what lies under it, and that result replaces the backdrop
    /// in proportion to the layer's shape (alpha times opacity). At fill 0
    /// this punches a hole through to the initial backdrop.
    fn blend_knockout(&mut self, layer: &Layer, content: &Raster, dst: &mut Raster, ko: &KoBase) {
        let r = content.rect.intersect(&dst.rect);
        if r.is_empty() {
            return;
        }
        let mut through = match ko {
            KoBase::Transparent => Raster::transparent(r),
            KoBase::Snapshot(s) => crop(s, r),
        };
        // The layer's alpha is its shape: it weights the replacement once,
        // so the layer goes onto the knockout base as if opaque (fill
        // opacity still applies there).
        let solid = Raster {
            rect: content.rect,
            color: content.color.clone(),
            alpha: vec![1.0; content.alpha.len()],
        };
        self.blend_onto_with(layer, &solid, &mut through, 1.0);
        for y in r.top..r.bottom {
            let (kc, ka) = through.span(y, r.left, r.right);
            let (_, sa) = content.span(y, r.left, r.right);
            let (dc, da) = dst.span_mut(y, r.left, r.right);
            for i in 0..dc.len() {
                let k = sa[i] * layer.opacity;
                if k <= 0.0 {
                    continue;
                }
                let (a0, a1) = (da[i], ka[i]);
                let a = a0 + (a1 - a0) * k;
                if a > 0.0 {
                    for l in 0..4 {
                        dc[i][l] = (dc[i][l] * a0 * (1.0 - k) + kc[i][l] * a1 * k) / a;
                    }
                }
                da[i] = a;
            }
        }
    }

    /// Blends with the layer's mode, opacity, fill and effects.
    fn blend_onto(&mut self, layer: &Layer, content: &Raster, dst: &mut Raster) {
        self.blend_onto_with(layer, content, dst, layer.opacity)
    }

    /// [`Self::blend_onto`] with another opacity.
    fn blend_onto_with(&mut self, layer: &Layer, content: &Raster, dst: &mut Raster, opacity: f32) {
        let blend = LayerBlend {
            interior_as_group: layer.advanced.blend_interior_as_group,
            mode: layer.blend_mode,
            opacity,
            fill: layer.fill_opacity,
        };
        match &layer.effects {
            Some(fx) => {
                let missing = effects::composite_with_effects(dst, content, blend, fx, &self.ctx);
                for m in missing {
                    self.warn(
                        layer,
                        "unsupported_effect",
                        format!("layer effect '{m}' is not rendered"),
                    );
                }
            }
            None => {
                crate::render::composite_raster(dst, content, blend.mode, blend.opacity, blend.fill)
            }
        }
    }

    /// The layer's own pixels over the part of `area` they cover, before
    /// masks. `None` when it has nothing to draw.
    fn layer_content(&mut self, layer: &Layer, area: Rect, depth: u32) -> Result<Option<Content>> {
        // Shape and fill layers with a vector mask store Photoshop's own
        // rendering of the shape: exact, so it is used as is, and the vector
        // mask must not be applied a second time.
        let stored_shape = |layer: &Layer| {
            layer.pixels.as_ref().map(|p| Content {
                raster: p.to_raster(area),
                shape_applied: layer.vector_mask.is_some(),
            })
        };
        let plain = |r: Raster| Content {
            raster: r,
            shape_applied: false,
        };
        Ok(match &layer.kind {
            LayerKind::Group {
                children,
                artboard: Some(ab),
                ..
            } => {
                let area = area.intersect(&ab.rect);
                if area.is_empty() {
                    return Ok(None);
                }
                let mut buf = match ab.background {
                    Some(bg) => Raster::filled(area, bg, 1.0),
                    None => Raster::transparent(area),
                };
                // Only knockout children look at the starting backdrop:
                // copy it for them alone.
                let base = match ab.background {
                    Some(_) if children.iter().any(|c| c.advanced.knockout != 0) => {
                        KoBase::Snapshot(buf.clone())
                    }
                    _ => KoBase::Transparent,
                };
                self.composite_layers(children, &mut buf, depth + 1, &base)?;
                Some(plain(buf))
            }
            LayerKind::Group { children, .. } => {
                // The group's buffer only needs to cover what its children
                // can draw: the rest stays transparent and blends to
                // nothing. Effects of the group itself reach past that, so
                // they keep the whole area.
                let area = match layer.effects {
                    None => drawn_extent(children, &self.opts.replacements)
                        .map_or(area, |e| area.intersect(&e)),
                    Some(_) => area,
                };
                if area.is_empty() {
                    return Ok(None);
                }
                let mut buf = Raster::transparent(area);
                self.composite_layers(children, &mut buf, depth + 1, &KoBase::Transparent)?;
                Some(plain(buf))
            }
            // Photoshop saves its own rendering of a fill layer: exact where it
            // exists, so it is preferred whenever it covers what the fill
            // covers (the shape, or the whole canvas for an unshaped fill).
            LayerKind::Fill(_)
                if layer.pixels.as_ref().is_some_and(|p| {
                    layer.vector_mask.is_some()
                        || p.rect.intersect(&self.ctx.canvas) == self.ctx.canvas
                }) =>
            {
                stored_shape(layer)
            }
            LayerKind::Fill(f) => {
                let rect = self.ctx.canvas.intersect(&area);
                match fill::render(f, rect, &self.ctx) {
                    Some(r) => Some(plain(r)),
                    None => {
                        self.warn(
                            layer,
                            "unsupported_fill",
                            format!("fill layer '{}' is drawn from its stored pixels", f.name()),
                        );
                        stored_shape(layer)
                    }
                }
            }
            LayerKind::Shape => stored_shape(layer),
            LayerKind::Pixel | LayerKind::SmartObject(_) | LayerKind::Text(_)
                if self.opts.replacements.contains_key(&layer.uuid) =>
            {
                self.opts
                    .replacements
                    .get(&layer.uuid)
                    .map(|r| plain(crop(r, area)))
            }
            LayerKind::Adjustment(_) => None,
            _ => layer.pixels.as_ref().map(|p| plain(p.to_raster(area))),
        }
        .filter(|c| !c.raster.rect.is_empty()))
    }

    /// Multiplies content alpha by the layer's pixel and vector masks.
    fn apply_masks(&mut self, layer: &Layer, content: &mut Raster) {
        self.apply_masks_to(layer, content, false)
    }

    /// [`Self::apply_masks`], skipping the vector mask when the content
    /// already has it.
    fn apply_masks_to(&mut self, layer: &Layer, content: &mut Raster, shape_applied: bool) {
        for (plane, density) in self.mask_planes(layer, content.rect, shape_applied) {
            multiply_alpha(content, &plane, density);
        }
    }

    /// The layer's masks over `rect`, as (coverage plane, density) pairs:
    /// the pixel mask (feathered when asked) and the rasterised vector mask
    /// (skipped when the pixels already carry the shape).
    fn mask_planes(&mut self, layer: &Layer, rect: Rect, shape_applied: bool) -> Vec<(Plane, f32)> {
        let mut out = Vec::new();
        if let Some(m) = layer.mask.as_ref().filter(|m| !m.disabled) {
            if m.feather > 0.0 {
                self.warn(
                    layer,
                    "approximate_mask_feather",
                    format!(
                        "mask feather {} px is drawn as a Gaussian blur of sigma feather/2",
                        m.feather
                    ),
                );
                out.push((feathered(&m.plane, m.feather, rect), m.density));
            } else {
                out.push((m.plane.clone(), m.density));
            }
        }
        if let Some(vm) = layer
            .vector_mask
            .as_ref()
            .filter(|v| !v.disabled && !shape_applied)
        {
            let canvas = self.ctx.canvas;
            match vector_mask::rasterize(vm, canvas.width(), canvas.height(), rect) {
                Some(plane) => out.push((plane, 1.0)),
                None => self.warn(
                    layer,
                    "unsupported_vector_mask",
                    "vector mask is not rendered".into(),
                ),
            }
        }
        out
    }

    /// Composites a layer clipped to `base`: its colours blend onto the
    /// base's as if the base were opaque, and the base's alpha is kept.
    fn composite_clipped(&mut self, layer: &Layer, base: &mut Raster, depth: u32) -> Result<()> {
        if let LayerKind::Adjustment(adj) = &layer.kind {
            self.apply_adjustment(layer, adj, base);
            return Ok(());
        }
        let Some(Content {
            raster: mut content,
            shape_applied,
        }) = self.layer_content(layer, base.rect, depth)?
        else {
            return Ok(());
        };
        self.apply_masks_to(layer, &mut content, shape_applied);
        let saved = std::mem::replace(&mut base.alpha, vec![1.0; base.rect.area() as usize]);
        self.blend_layer(layer, &content, base, None);
        base.alpha = saved;
        Ok(())
    }

    fn composite_pass_through(
        &mut self,
        group: &Layer,
        children: &[Layer],
        dst: &mut Raster,
        depth: u32,
    ) -> Result<()> {
        let fades = group.opacity < 1.0
            || group.mask.as_ref().is_some_and(|m| !m.disabled)
            || group.vector_mask.is_some();
        // Knockout inside a pass-through group reaches the backdrop the
        // group started from.
        let ko = if children.iter().any(|c| c.advanced.knockout != 0) {
            KoBase::Snapshot(dst.clone())
        } else {
            KoBase::Transparent
        };
        if !fades {
            return self.composite_layers(children, dst, depth + 1, &ko);
        }
        let before = dst.clone();
        self.composite_layers(children, dst, depth + 1, &ko)?;
        // Coverage of the group: opacity times masks, as a plane over dst.
        let mut cov = Raster::filled(dst.rect, [0.0; 4], group.opacity);
        self.apply_masks(group, &mut cov);
        for i in 0..dst.alpha.len() {
            let k = cov.alpha[i];
            if k >= 1.0 {
                continue;
            }
            let (a0, a1) = (before.alpha[i], dst.alpha[i]);
            let a = a0 + (a1 - a0) * k;
            if a <= 0.0 {
                dst.alpha[i] = 0.0;
                continue;
            }
            for l in 0..4 {
                dst.color[i][l] =
                    (before.color[i][l] * a0 * (1.0 - k) + dst.color[i][l] * a1 * k) / a;
            }
            dst.alpha[i] = a;
        }
        Ok(())
    }

    fn apply_adjustment(&mut self, layer: &Layer, adj: &adjust::Adjustment, dst: &mut Raster) {
        let mut adjusted = Raster {
            rect: dst.rect,
            color: dst.color.clone(),
            alpha: vec![1.0; dst.alpha.len()],
        };
        if !adjust::apply(adj, &mut adjusted.color, self.ctx.info) {
            self.warn(
                layer,
                "unsupported_adjustment",
                format!("adjustment '{}' is not rendered", adj.name()),
            );
            return;
        }
        self.apply_masks(layer, &mut adjusted);
        let saved = std::mem::replace(&mut dst.alpha, vec![1.0; dst.rect.area() as usize]);
        crate::render::composite_raster(
            dst,
            &adjusted,
            layer.blend_mode,
            layer.opacity,
            layer.fill_opacity,
        );
        dst.alpha = saved;
    }
}

/// How far, in canvas pixels, a pixel of the composite can depend on layer
/// content around it: the largest sum of layer-effect extents along any
/// path of nested groups (a group's effects read its children's composite,
/// whose effects read theirs). A [`CompositeOptions::region`] composite is
/// exact this far inside the region's edges. Masks are feathered from the
/// whole stored mask, so they add nothing.
pub fn effect_reach(layers: &[Layer]) -> i32 {
    layers
        .iter()
        .map(|l| {
            let own = l.effects.as_ref().filter(|e| !e.is_empty()).map_or(0, |e| {
                let (ext, int_ext) = e.extents();
                ext.max(int_ext)
            });
            let inner = match &l.kind {
                LayerKind::Group { children, .. } => effect_reach(children),
                _ => 0,
            };
            own.saturating_add(inner)
        })
        .max()
        .unwrap_or(0)
}

/// The smallest rectangle holding everything `layers` can draw into an
/// isolated group's buffer, or `None` when that is not known from their
/// bounds (effects, adjustments and fills can draw anywhere). Masks, blend-if,
/// clipping and knockout only take away, so stored pixel bounds are enough.
fn drawn_extent(layers: &[Layer], replacements: &HashMap<Uuid, Raster>) -> Option<Rect> {
    let mut out = Rect::default();
    for l in layers {
        if l.effects.is_some() {
            return None;
        }
        let r = match &l.kind {
            LayerKind::Adjustment(_) | LayerKind::Fill(_) => return None,
            LayerKind::Group {
                artboard: Some(ab), ..
            } => ab.rect,
            LayerKind::Group { children, .. } => drawn_extent(children, replacements)?,
            // New contents draw where they were placed, not where the old
            // ones did.
            LayerKind::Pixel | LayerKind::SmartObject(_) | LayerKind::Text(_)
                if replacements.contains_key(&l.uuid) =>
            {
                replacements[&l.uuid].rect
            }
            LayerKind::Pixel
            | LayerKind::Shape
            | LayerKind::SmartObject(_)
            | LayerKind::Text(_) => l.pixels.as_ref().map_or(Rect::default(), |p| p.rect),
        };
        out = out.union(&r);
    }
    Some(out)
}

/// What knockout layers of a group knock out to.
enum KoBase {
    /// An isolated group's empty start.
    Transparent,
    /// The backdrop a pass-through group (or an artboard) started from.
    Snapshot(Raster),
}

/// How blend-if computes a pixel's gray in the document's working space.
fn gray_method(info: &crate::color::ColorInfo) -> blend::GrayMethod {
    use crate::color::ColorMode;
    match info.mode {
        Some(ColorMode::Rgb | ColorMode::Indexed) => blend::GrayMethod::RGB,
        Some(ColorMode::Cmyk) => blend::GrayMethod::CmykInverted,
        _ => blend::GrayMethod::Lane0,
    }
}

/// Multiplies content alpha by the blend-if coverage against the backdrop.
fn apply_blend_if(
    bi: &crate::doc::BlendIf,
    content: &mut Raster,
    dst: &Raster,
    gray: blend::GrayMethod,
) {
    let r = content.rect.intersect(&dst.rect);
    let w = content.rect.width() as usize;
    for y in r.top..r.bottom {
        let (dc, _) = dst.span(y, r.left, r.right);
        let start = (y - content.rect.top) as usize * w + (r.left - content.rect.left) as usize;
        let end = start + r.width() as usize;
        blend::blend_if_span(
            bi,
            &content.color[start..end],
            dc,
            gray,
            &mut content.alpha[start..end],
        );
    }
}

/// A layer's pixels before masks.
struct Content {
    raster: Raster,
    /// The pixels already carry the vector mask's shape.
    shape_applied: bool,
}

/// The part of `src` inside `area` (a copy; `src` itself when inside).
fn crop(src: &Raster, area: Rect) -> Raster {
    let r = src.rect.intersect(&area);
    if r == src.rect {
        return src.clone();
    }
    let mut out = Raster::transparent(r);
    for y in r.top..r.bottom {
        let (c, a) = src.span(y, r.left, r.right);
        let (dc, da) = out.span_mut(y, r.left, r.right);
        dc.copy_from_slice(c);
        da.copy_from_slice(a);
    }
    out
}

/// A pixel mask blurred by its feather radius, over `rect` grown by the
/// blur's reach (values beyond stay the mask's outside value).
fn feathered(mask: &Plane, feather: f32, rect: Rect) -> Plane {
    let sigma = (feather / 2.0).min(500.0);
    let reach = crate::render::effects::blur::reach(sigma) as i32;
    let area = rect.inflate(reach);
    let (w, h) = (area.width() as usize, area.height() as usize);
    let mut data = Vec::with_capacity(w * h);
    for y in area.top..area.bottom {
        data.extend((area.left..area.right).map(|x| mask.at(x, y)));
    }
    crate::render::effects::blur::gaussian_blur(&mut data, w, h, sigma);
    Plane {
        rect: area,
        data,
        outside: mask.outside,
    }
}

/// Multiplies alpha by a mask plane scaled by `density`
/// (`1 - density * (1 - m)`).
fn multiply_alpha(content: &mut Raster, mask: &Plane, density: f32) {
    let r = content.rect;
    let w = r.width() as usize;
    for y in r.top..r.bottom {
        let row = (y - r.top) as usize * w;
        for x in r.left..r.right {
            let m = mask.at(x, y);
            let m = 1.0 - density * (1.0 - m);
            content.alpha[row + (x - r.left) as usize] *= m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{ColorInfo, ColorMode};
    use crate::doc::AdvancedBlending;
    use crate::psd::channels::Channel;

    /// An 8-bit RGB pixel layer over `rect` with one colour per column
    /// (`rgba[x - left]`).
    fn pixel_layer(name: &str, rect: Rect, rgba: &[[u8; 4]]) -> Layer {
        let plane = |k: usize, id: i16| Channel {
            id,
            rect,
            depth: 8,
            data: rgba.iter().map(|p| p[k]).collect(),
        };
        let pixels = LayerPixels::new(
            rect,
            ColorMode::Rgb,
            vec![plane(0, 0), plane(1, 1), plane(2, 2)],
            Some(plane(3, -1)),
            None,
        );
        Layer {
            uuid: Uuid::nil(),
            id: None,
            name: name.into(),
            visible: true,
            opacity: 1.0,
            fill_opacity: 1.0,
            blend_mode: BlendMode::Normal,
            clipping: false,
            rect,
            pixels,
            mask: None,
            vector_mask: None,
            blend_if: None,
            effects: None,
            advanced: AdvancedBlending::default(),
            kind: LayerKind::Pixel,
        }
    }

    fn document(layers: Vec<Layer>) -> Document {
        Document {
            width: 4,
            height: 1,
            psb: false,
            color: ColorInfo {
                mode: Some(ColorMode::Rgb),
                depth: 8,
                ..Default::default()
            },
            layers,
            merged: None,
            merged_is_reliable: false,
            patterns: Vec::new(),
            digest: [0; 16],
            resolution_dpi: None,
            warnings: Vec::new(),
        }
    }

    /// Straight-alpha source-over of one lane, computed independently.
    fn over(s: f32, sa: f32, b: f32, ba: f32) -> (f32, f32) {
        let a = sa + ba * (1.0 - sa);
        if a == 0.0 {
            return (0.0, 0.0);
        }
        ((s * sa + b * ba * (1.0 - sa)) / a, a)
    }

    /// A background (partly transparent, so the canvas start must blend it
    /// onto transparency), then a Normal group holding a half-transparent
    /// layer over the middle columns. Drawn without the group's buffer at
    /// opacity 1 and with it at opacity 0.5; both must match source-over
    /// computed by hand.
    #[test]
    fn canvas_start_and_see_through_group_match_source_over() {
        let canvas = Rect::new(0, 0, 4, 1);
        let bg = [
            [200, 10, 0, 255],
            [0, 255, 40, 128],
            [9, 9, 9, 0],
            [50, 60, 70, 255],
        ];
        let top = [[255, 0, 0, 128], [0, 0, 255, 64]];
        for group_opacity in [1.0, 0.5] {
            let mut group = pixel_layer("group", canvas, &[[0; 4]; 4]);
            group.pixels = None;
            group.opacity = group_opacity;
            group.kind = LayerKind::Group {
                children: vec![pixel_layer("top", Rect::new(1, 0, 2, 1), &top)],
                open: true,
                artboard: None,
            };
            let doc = document(vec![pixel_layer("bg", canvas, &bg), group]);
            let c = composite_document(&doc, &crate::Limits::default(), &Default::default())
                .expect("composites");
            assert_eq!(c.raster.rect, canvas);
            for x in 0..4 {
                let b = bg[x];
                let ba = b[3] as f32 / 255.0;
                let (s, sa) = match x {
                    1 | 2 => (top[x - 1], top[x - 1][3] as f32 / 255.0 * group_opacity),
                    _ => ([0; 4], 0.0),
                };
                for k in 0..3 {
                    let (want, want_a) = over(s[k] as f32 / 255.0, sa, b[k] as f32 / 255.0, ba);
                    let got = c.raster.color[x][k];
                    assert!(
                        (got - want).abs() < 1e-5 || want_a == 0.0,
                        "opacity {group_opacity} x {x} lane {k}: {got} vs {want}"
                    );
                    assert!((c.raster.alpha[x] - want_a).abs() < 1e-6, "alpha x {x}");
                }
            }
        }
    }
}
