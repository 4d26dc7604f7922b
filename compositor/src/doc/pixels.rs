//! A layer's stored pixels, kept compact as decoded channels and converted
//! to working-space `f32` only for the area a render needs.
//!
//! Holding templates as 8- or 16-bit channels costs 4-8 bytes a pixel
//! instead of 20 for an `f32` raster, which matters when a service keeps
//! parsed templates for many renders, and it makes opening a file cheap.

use crate::color::ColorMode;
use crate::psd::channels::Channel;
use crate::render::raster::{Color, Raster, Rect};
use std::sync::OnceLock;

/// Reusable per-row buffers for [`LayerPixels::row_into`].
#[derive(Debug, Default)]
pub struct RowScratch {
    lanes: [Vec<f32>; 4],
}

/// Colour and transparency channels of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPixels {
    /// Bounds of the pixels.
    pub rect: Rect,
    mode: ColorMode,
    color: Vec<Channel>,
    alpha: Option<Channel>,
    palette: Option<Vec<[u8; 3]>>,
}

impl LayerPixels {
    /// Takes the colour channels (in order) and optional transparency.
    /// `None` when a colour channel is missing or incomplete.
    pub fn new(
        rect: Rect,
        mode: ColorMode,
        color: Vec<Channel>,
        alpha: Option<Channel>,
        palette: Option<Vec<[u8; 3]>>,
    ) -> Option<Self> {
        if rect.is_empty()
            || color.len() < mode.color_channels()
            || color.iter().any(|c| !c.is_complete() || c.rect != rect)
        {
            return None;
        }
        let alpha = alpha.filter(|a| a.is_complete() && a.rect == rect);
        Some(LayerPixels {
            rect,
            mode,
            color,
            alpha,
            palette,
        })
    }

    /// Converts the part of the pixels inside `area` to a working-space
    /// raster (see [`crate::render::raster::Color`] for the lanes).
    pub fn to_raster(&self, area: Rect) -> Raster {
        let r = self.rect.intersect(&area);
        let n = r.area() as usize;
        // Every element is written by `row_into`: build by pushing rather
        // than zeroing buffers first.
        let mut out = Raster {
            rect: r,
            color: Vec::with_capacity(n),
            alpha: Vec::with_capacity(n),
        };
        let mut scratch = RowScratch::default();
        for y in r.top..r.bottom {
            self.row_into(
                y,
                r.left,
                r.right,
                &mut out.color,
                &mut out.alpha,
                &mut scratch,
            );
        }
        out
    }

    /// Appends canvas row `y`, columns `x0..x1` (which must lie inside
    /// [`Self::rect`]), to `color` and `alpha`.
    pub fn row_into(
        &self,
        y: i32,
        x0: i32,
        x1: i32,
        color: &mut Vec<Color>,
        alpha: &mut Vec<f32>,
        scratch: &mut RowScratch,
    ) {
        let w = (x1 - x0).max(0) as usize;
        if w == 0 {
            return;
        }
        let src = (y - self.rect.top) as usize * self.rect.width() as usize
            + (x0 - self.rect.left) as usize;
        for lane in &mut scratch.lanes {
            lane.resize(w, 0.0);
        }
        match self.mode {
            ColorMode::Indexed => {
                let pal = self.palette.as_deref().unwrap_or(&[]);
                color.extend(self.color[0].data[src..src + w].iter().map(|&i| {
                    let c = pal.get(i as usize).copied().unwrap_or([0, 0, 0]);
                    [
                        c[0] as f32 / 255.0,
                        c[1] as f32 / 255.0,
                        c[2] as f32 / 255.0,
                        0.0,
                    ]
                }));
            }
            ColorMode::Bitmap
            | ColorMode::Grayscale
            | ColorMode::Duotone
            | ColorMode::Multichannel => {
                let l0 = &mut scratch.lanes[0];
                self.color[0].row_into(src, l0);
                color.extend(l0.iter().map(|&g| [g, g, g, 0.0]));
            }
            ColorMode::Rgb | ColorMode::Lab => {
                for (lane, ch) in scratch.lanes.iter_mut().zip(&self.color[..3]) {
                    ch.row_into(src, lane);
                }
                let [l0, l1, l2, _] = &scratch.lanes;
                color.extend(
                    l0.iter()
                        .zip(l1)
                        .zip(l2)
                        .map(|((&a, &b), &c)| [a, b, c, 0.0]),
                );
            }
            ColorMode::Cmyk => {
                for (lane, ch) in scratch.lanes.iter_mut().zip(&self.color[..4]) {
                    ch.row_into(src, lane);
                }
                let [l0, l1, l2, l3] = &scratch.lanes;
                color.extend(
                    l0.iter()
                        .zip(l1)
                        .zip(l2)
                        .zip(l3)
                        .map(|(((&a, &b), &c), &d)| [a, b, c, d]),
                );
            }
        }
        let start = alpha.len();
        match &self.alpha {
            Some(a) => {
                alpha.resize(start + w, 0.0);
                a.row_into(src, &mut alpha[start..]);
            }
            None => alpha.resize(start + w, 1.0),
        }
    }
}

/// The document's stored composite (Photoshop's own render). It is kept as
/// decoded channels and converted to a working-space [`Raster`] on first
/// use (through `Deref`): rendering needs it only for flat documents, and
/// converting it up front cost every open a full-canvas pass and buffer.
#[derive(Debug, Clone)]
pub struct Merged {
    pixels: LayerPixels,
    unmatte: bool,
    raster: OnceLock<Raster>,
}

impl Merged {
    /// Wraps the composite's channels; `unmatte` when the file stores it
    /// matted against white (transparent RGB and gray documents).
    pub fn new(pixels: LayerPixels, unmatte: bool) -> Self {
        Merged {
            pixels,
            unmatte,
            raster: OnceLock::new(),
        }
    }

    /// The composite in working space (converted on first call).
    pub fn raster(&self) -> &Raster {
        self.raster.get_or_init(|| {
            let mut r = self.pixels.to_raster(self.pixels.rect);
            if self.unmatte {
                unmatte_white(&mut r);
            }
            r
        })
    }
}

impl std::ops::Deref for Merged {
    type Target = Raster;
    fn deref(&self) -> &Raster {
        self.raster()
    }
}

/// Photoshop stores a transparent document's composite matted against
/// white: `m = c * a + (1 - a)`. Undo it so colours are straight again.
fn unmatte_white(r: &mut Raster) {
    for (c, &a) in r.color.iter_mut().zip(&r.alpha) {
        if a > 0.0 && a < 1.0 {
            for v in c.iter_mut().take(3) {
                *v = ((*v + a - 1.0) / a).clamp(0.0, 1.0);
            }
        }
    }
}
