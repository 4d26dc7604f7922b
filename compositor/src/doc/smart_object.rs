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
