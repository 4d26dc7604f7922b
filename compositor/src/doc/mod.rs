//! The document model: what a template is, independent of how the file
//! stores it. Built from the raw structures of [`crate::psd`] by
//! [`build`](crate::doc::build::build).

pub mod build;
pub mod pixels;
pub mod smart_object;
pub mod text;

use crate::color::ColorInfo;
use crate::render::adjust::Adjustment;
use crate::render::blend::BlendMode;
use crate::render::effects::Effects;
use crate::render::fill::Fill;
use crate::render::pattern::Pattern;
use crate::render::raster::{Plane, Rect};
use crate::render::vector_mask::VectorMask;
pub use smart_object::SmartObject;
pub use text::TextLayer;
use uuid::Uuid;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Document {
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// Large document format (PSB).
    pub psb: bool,
    /// Colour mode, depth, profile.
    pub color: ColorInfo,
    /// Top-level layers, bottom-most first.
    pub layers: Vec<Layer>,
    /// The stored composite (Photoshop's own render); dereferences to a
    /// working-space [`Raster`](crate::render::raster::Raster), converted
    /// on first use.
    pub merged: Option<pixels::Merged>,
    /// Whether the file says its stored composite is real (Maximize
    /// Compatibility on, or no layers at all).
    pub merged_is_reliable: bool,
    /// Patterns defined in the document.
    pub patterns: Vec<Pattern>,
    /// XXH3-128 of the file, the root of every layer UUID.
    pub digest: [u8; 16],
    /// Horizontal resolution the file was saved with, in pixels per inch
    /// (image resource 1005), when stored.
    pub resolution_dpi: Option<f64>,
    /// What the reader could not interpret.
    pub warnings: Vec<Warning>,
}

/// A machine-readable note about something not (fully) supported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// Stable code, e.g. `unsupported_effect`.
    pub code: &'static str,
    /// Layer name, when the warning is about one layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Human-readable detail.
    pub message: String,
}

/// One node of the layer tree.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Stable identifier derived from the file digest and the layer's place.
    pub uuid: Uuid,
    /// Photoshop's layer ID (`lyid`), when stored.
    pub id: Option<u32>,
    /// Layer name (Unicode name when stored).
    pub name: String,
    /// Visibility.
    pub visible: bool,
    /// Layer opacity 0..1.
    pub opacity: f32,
    /// Fill opacity 0..1 (`iOpa`).
    pub fill_opacity: f32,
    /// Blend mode.
    pub blend_mode: BlendMode,
    /// Clipped to the layer below.
    pub clipping: bool,
    /// Bounds of the stored pixels.
    pub rect: Rect,
    /// The layer's own pixels (pixel, shape, text, smart object and fill
    /// layers store a rendering), in working space.
    pub pixels: Option<pixels::LayerPixels>,
    /// Pixel (user) mask.
    pub mask: Option<LayerMask>,
    /// Vector mask.
    pub vector_mask: Option<VectorMask>,
    /// Blend-if ranges ("Blend If" sliders).
    pub blend_if: Option<BlendIf>,
    /// Layer effects, when any is enabled.
    pub effects: Option<Effects>,
    /// Advanced blending options.
    pub advanced: AdvancedBlending,
    /// What kind of layer this is.
    pub kind: LayerKind,
}

/// The kinds of layer.
#[derive(Debug, Clone)]
pub enum LayerKind {
    /// Plain pixels.
    Pixel,
    /// Shape layer (pixels plus vector data).
    Shape,
    /// A group with its children, bottom-most first.
    Group {
        /// Child layers.
        children: Vec<Layer>,
        /// Open in the layers panel.
        open: bool,
        /// Artboard settings when the group is an artboard.
        artboard: Option<Artboard>,
    },
    /// Adjustment layer.
    Adjustment(Adjustment),
    /// Solid colour / gradient / pattern fill layer.
    Fill(Fill),
    /// Smart object (placed layer).
    SmartObject(Box<SmartObject>),
    /// Text layer.
    Text(TextLayer),
}

impl LayerKind {
    /// Short name used by `inspect` and the API: `pixel`, `group`, ...
    pub fn name(&self) -> &'static str {
        match self {
            LayerKind::Pixel => "pixel",
            LayerKind::Shape => "shape",
            LayerKind::Group {
                artboard: Some(_), ..
            } => "artboard",
            LayerKind::Group { .. } => "group",
            LayerKind::Adjustment(_) => "adjustment",
            LayerKind::Fill(_) => "fill",
            LayerKind::SmartObject(_) => "smart_object",
            LayerKind::Text(_) => "text",
        }
    }
}

/// An artboard: a group whose contents are clipped to its rectangle and
/// drawn over its background colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Artboard {
    /// The artboard's rectangle on the canvas.
    pub rect: Rect,
    /// Background in working space; `None` for a transparent artboard.
    pub background: Option<crate::render::raster::Color>,
}

/// A pixel mask.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerMask {
    /// Mask values (0 hides, 1 shows) over the mask rect; `outside` elsewhere.
    pub plane: Plane,
    /// Disabled masks are ignored.
    pub disabled: bool,
    /// Density 0..1: a density d maps value v to 1 - d * (1 - v).
    pub density: f32,
    /// Feather radius in pixels.
    pub feather: f32,
}

/// Blend-if ranges: for the layer's own (source) and the underlying (destination)
/// gray channel and each colour channel, black/white points with split
/// transitions, 0..1.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendIf {
    /// Per channel (gray first, then each colour channel): (source, destination)
    /// ranges as `[black_lo, black_hi, white_lo, white_hi]`.
    pub channels: Vec<([f32; 4], [f32; 4])>,
}

/// Advanced blending options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdvancedBlending {
    /// Knockout: 0 none, 1 shallow, 2 deep.
    pub knockout: u8,
    /// Blend clipped layers as group (default on).
    pub blend_clipped_as_group: bool,
    /// Blend interior effects as group (default off).
    pub blend_interior_as_group: bool,
    /// Transparency shapes layer (default on).
    pub transparency_shapes: bool,
    /// Layer mask hides effects.
    pub mask_hides_effects: bool,
    /// Vector mask hides effects.
    pub vector_mask_hides_effects: bool,
    /// Channels taking part (R, G, B / C, M, Y, K), default all.
    pub channel_mask: u8,
}

impl Default for AdvancedBlending {
    fn default() -> Self {
        AdvancedBlending {
            knockout: 0,
            blend_clipped_as_group: true,
            blend_interior_as_group: false,
            transparency_shapes: true,
            mask_hides_effects: false,
            vector_mask_hides_effects: false,
            channel_mask: 0xff,
        }
    }
}

impl Document {
    /// Every layer, depth first, parents before children.
    pub fn walk(&self) -> Vec<&Layer> {
        fn rec<'a>(layers: &'a [Layer], out: &mut Vec<&'a Layer>) {
            for l in layers {
                out.push(l);
                if let LayerKind::Group { children, .. } = &l.kind {
                    rec(children, out);
                }
            }
        }
        let mut out = Vec::new();
        rec(&self.layers, &mut out);
        out
    }
}
