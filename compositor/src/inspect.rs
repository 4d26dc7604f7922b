//! JSON description of a template (`mockup inspect`, and the API's mockup
//! and layer objects).

use crate::doc::smart_object::{ContentsSource, TransformKind};
use crate::doc::{Document, Layer, LayerKind, Warning};
use serde::Serialize;

/// Everything a client needs to know about a template.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Colour mode.
    pub color_mode: Option<crate::color::ColorMode>,
    /// Bits per channel.
    pub depth: u8,
    /// PSB (large document) file.
    pub psb: bool,
    /// Smart objects, front-most first.
    pub smart_objects: Vec<SmartObjectInfo>,
    /// Text layers, front-most first.
    pub text_layers: Vec<TextLayerInfo>,
    /// Layer tree, front-most first.
    pub layers: Vec<LayerNode>,
    /// What the reader could not interpret.
    pub warnings: Vec<Warning>,
}

/// Width and height.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A box on the canvas.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Position {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// A smart object as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct SmartObjectInfo {
    /// Stable UUID (same as in the layer tree).
    pub uuid: String,
    /// Layer name.
    pub name: String,
    /// Size of the embedded design canvas.
    pub size: Size,
    /// Bounds of the placed quad on the canvas.
    pub position: Position,
    /// `affine`, `perspective` or `warp`.
    pub transform: TransformKind,
    /// Corners TL, TR, BR, BL on the canvas.
    pub quad: [f64; 8],
    /// Visibility.
    pub visible: bool,
    /// Where the contents come from.
    pub source: ContentsSource,
    /// The contents' file name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Layers sharing the same contents (instances) share this ID.
    pub contents_id: String,
}

/// A text layer as clients see it.
#[derive(Debug, Clone, Serialize)]
pub struct TextLayerInfo {
    /// Stable UUID.
    pub uuid: String,
    /// Layer name.
    pub name: String,
    /// The text.
    pub text: String,
    /// Font PostScript name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font: Option<String>,
    /// Size in points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<f64>,
    /// Colour `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Bounds of its pixels.
    pub position: Position,
    /// Visibility.
    pub visible: bool,
}

/// A node of the layer tree.
#[derive(Debug, Clone, Serialize)]
pub struct LayerNode {
    /// Stable UUID.
    pub uuid: String,
    /// Layer name.
    pub name: String,
    /// `pixel`, `group`, `smart_object`, `text`, `adjustment`, `fill`, `shape`.
    pub kind: &'static str,
    /// Visibility.
    pub visible: bool,
    /// Children, front-most first (groups only).
    pub children: Vec<LayerNode>,
}

/// Describes a document.
pub fn inspect(doc: &Document) -> Inspection {
    let mut smart_objects = Vec::new();
    let mut text_layers = Vec::new();
    for l in doc.walk().into_iter().rev() {
        match &l.kind {
            LayerKind::SmartObject(so) => smart_objects.push(SmartObjectInfo {
                uuid: l.uuid.to_string(),
                name: l.name.clone(),
                size: Size {
                    width: so.content_size.0.round().max(0.0) as u32,
                    height: so.content_size.1.round().max(0.0) as u32,
                },
                position: quad_bounds(&so.quad),
                transform: so.transform_kind,
                quad: so.quad,
                visible: l.visible,
                source: so.source.clone(),
                file_name: so.file_name.clone(),
                contents_id: so.placed_id.clone(),
            }),
            LayerKind::Text(t) => text_layers.push(TextLayerInfo {
                uuid: l.uuid.to_string(),
                name: l.name.clone(),
                text: t.text.clone(),
                font: t.font.clone(),
                size: t.size,
                color: t.color.clone(),
                position: Position {
                    x: l.rect.left,
                    y: l.rect.top,
                    width: l.rect.width(),
                    height: l.rect.height(),
                },
                visible: l.visible,
            }),
            _ => {}
        }
    }
    Inspection {
        width: doc.width,
        height: doc.height,
        color_mode: doc.color.mode,
        depth: doc.color.depth,
        psb: doc.psb,
        smart_objects,
        text_layers,
        layers: nodes(&doc.layers),
        warnings: doc.warnings.clone(),
    }
}

fn nodes(layers: &[Layer]) -> Vec<LayerNode> {
    layers
        .iter()
        .rev()
        .map(|l| LayerNode {
            uuid: l.uuid.to_string(),
            name: l.name.clone(),
            kind: l.kind.name(),
            visible: l.visible,
            children: match &l.kind {
                LayerKind::Group { children, .. } => nodes(children),
                _ => Vec::new(),
            },
        })
        .collect()
}

/// Integer bounds of a quad (floor of the minimum, ceiling of the maximum).
fn quad_bounds(q: &[f64; 8]) -> Position {
    let xs = [q[0], q[2], q[4], q[6]];
    let ys = [q[1], q[3], q[5], q[7]];
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::INFINITY, f64::min),
        xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f64::INFINITY, f64::min),
        ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
    );
    let (x0, y0) = ((x0 + 1e-6).floor(), (y0 + 1e-6).floor());
    let (x1, y1) = ((x1 - 1e-6).ceil(), (y1 - 1e-6).ceil());
    Position {
        x: x0 as i32,
        y: y0 as i32,
        width: (x1 - x0).max(0.0) as u32,
        height: (y1 - y0).max(0.0) as u32,
    }
}
