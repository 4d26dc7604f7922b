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
        if self.row_into_8bit(src, w, color, alpha) {
            return;
        }
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

impl LayerPixels {
    /// [`Self::row_into`] for 8-bit RGB, Lab, CMYK and gray pixels (the
    /// common case): one pass from the channels to the lanes, with no
    /// per-channel scratch rows. Gives exactly what the general path gives.
    /// False (doing nothing) for other depths and modes.
    fn row_into_8bit(
        &self,
        src: usize,
        w: usize,
        color: &mut Vec<Color>,
        alpha: &mut Vec<f32>,
    ) -> bool {
        const K: f32 = 1.0 / 255.0;
        fn row8(c: &Channel, src: usize, w: usize) -> Option<&[u8]> {
            c.data.get(src..src + w).filter(|_| c.depth == 8)
        }
        let row = |c| row8(c, src, w);
        if self.alpha.as_ref().is_some_and(|a| row(a).is_none()) {
            return false;
        }
        match self.mode {
            ColorMode::Rgb | ColorMode::Lab => {
                let (Some(r), Some(g), Some(b)) = (
                    row(&self.color[0]),
                    row(&self.color[1]),
                    row(&self.color[2]),
                ) else {
                    return false;
                };
                color.extend(
                    r.iter()
                        .zip(g)
                        .zip(b)
                        .map(|((&r, &g), &b)| [r as f32 * K, g as f32 * K, b as f32 * K, 0.0]),
                );
            }
            ColorMode::Cmyk => {
                let (Some(c), Some(m), Some(y), Some(k)) = (
                    row(&self.color[0]),
                    row(&self.color[1]),
                    row(&self.color[2]),
                    row(&self.color[3]),
                ) else {
                    return false;
                };
                color.extend(c.iter().zip(m).zip(y).zip(k).map(|(((&c, &m), &y), &k)| {
                    [c as f32 * K, m as f32 * K, y as f32 * K, k as f32 * K]
                }));
            }
            ColorMode::Bitmap
            | ColorMode::Grayscale
            | ColorMode::Duotone
            | ColorMode::Multichannel => {
                let Some(g) = row(&self.color[0]) else {
                    return false;
                };
                color.extend(g.iter().map(|&g| {
                    let g = g as f32 * K;
                    [g, g, g, 0.0]
                }));
            }
            ColorMode::Indexed => return false,
        }
        match self.alpha.as_ref().and_then(row) {
            Some(a) => alpha.extend(a.iter().map(|&a| a as f32 * K)),
            None => alpha.resize(alpha.len() + w, 1.0),
        }
        true
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

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: &mut u32) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (*seed >> 24) as u8
            })
            .collect()
    }

    fn channel(id: i16, rect: Rect, data: Vec<u8>) -> Channel {
        Channel {
            id,
            rect,
            depth: 8,
            data,
        }
    }

    /// The one-pass 8-bit rows hold each channel's samples (as
    /// `Channel::sample` decodes them) in the working-space lanes.
    #[test]
    fn eight_bit_rows_match_per_sample_decoding() {
        let rect = Rect::new(-3, 5, 37, 4);
        let n = rect.area() as usize;
        let mut seed = 7;
        for (mode, lanes) in [
            (ColorMode::Rgb, 3),
            (ColorMode::Cmyk, 4),
            (ColorMode::Grayscale, 1),
        ] {
            for with_alpha in [false, true] {
                let chans: Vec<Channel> = (0..lanes)
                    .map(|i| channel(i, rect, noise(n, &mut seed)))
                    .collect();
                let alpha = with_alpha.then(|| channel(-1, rect, noise(n, &mut seed)));
                let px = LayerPixels::new(rect, mode, chans.clone(), alpha.clone(), None)
                    .expect("complete channels");
                let (y, x0, x1) = (7, 2, 30);
                let (mut color, mut a) = (vec![[9.0; 4]], vec![9.0]);
                px.row_into(y, x0, x1, &mut color, &mut a, &mut RowScratch::default());
                assert_eq!(
                    (color.len(), a.len()),
                    (29, 29),
                    "appends after what is there"
                );
                for (k, x) in (x0..x1).enumerate() {
                    let i = (y - rect.top) as usize * 37 + (x - rect.left) as usize;
                    let s = |c: usize| chans[c].sample(i);
                    let want = match lanes {
                        3 => [s(0), s(1), s(2), 0.0],
                        4 => [s(0), s(1), s(2), s(3)],
                        _ => [s(0), s(0), s(0), 0.0],
                    };
                    assert_eq!(color[1 + k], want, "{mode:?} x {x}");
                    let want_a = alpha.as_ref().map_or(1.0, |a| a.sample(i));
                    assert_eq!(a[1 + k], want_a, "{mode:?} alpha x {x}");
                }
            }
        }
    }
}
