//! Layer effects (drop shadow, glows, overlays, stroke, satin, bevel).

use crate::error::Result;
use crate::render::blend::BlendMode;
use crate::render::raster::Raster;
use crate::render::Context;

/// Parsed layer effects of one layer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Effects {
    /// Names of the enabled effects, for inspection and warnings.
    pub enabled: Vec<&'static str>,
}

impl Effects {
    /// True when no effect is enabled.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_empty()
    }
}

/// Parses an `lfx2` / `lmfx` block (versioned descriptor).
pub fn parse(data: &[u8], max_depth: u32) -> Result<Effects> {
    let _ = (data, max_depth);
    Ok(Effects::default())
}

/// How the layer itself blends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerBlend {
    /// Layer blend mode.
    pub mode: BlendMode,
    /// Layer opacity 0..1.
    pub opacity: f32,
    /// Fill opacity 0..1.
    pub fill: f32,
}

/// Composites `content` (the layer's pixels, masks already applied to its
/// alpha) with its effects onto `dst`. Returns the names of effects it could
/// not render (the caller warns).
pub fn composite_with_effects(
    dst: &mut Raster,
    content: &Raster,
    blend: LayerBlend,
    effects: &Effects,
    ctx: &Context<'_>,
) -> Vec<&'static str> {
    let _ = ctx;
    crate::render::composite_raster(dst, content, blend.mode, blend.opacity, blend.fill);
    effects.enabled.clone()
}
