//! A layer's stored pixels, kept compact as decoded channels and converted
//! to working-space `f32` only for the area a render needs.
//!
//! Holding templates as 8- or 16-bit channels costs 4-8 bytes a pixel
//! instead of 20 for an `f32` raster, which matters when a service keeps
//! parsed templates for many renders, and it makes opening a file cheap.

use crate::color::ColorMode;
use crate::psd::channels::Channel;
use crate::render::raster::{Raster, Rect};

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
        // Every element is written below: build by pushing rather than
        // zeroing buffers first.
        let mut out = Raster {
            rect: r,
            color: Vec::with_capacity(n),
            alpha: Vec::with_capacity(n),
        };
        if r.is_empty() {
            return out;
        }
        let (w, sw) = (r.width() as usize, self.rect.width() as usize);
        let mut row = vec![0.0f32; w];
        let mut lanes = [
            vec![0.0f32; w],
            vec![0.0f32; w],
            vec![0.0f32; w],
            vec![0.0f32; w],
        ];
        for y in r.top..r.bottom {
            let src = (y - self.rect.top) as usize * sw + (r.left - self.rect.left) as usize;
            match self.mode {
                ColorMode::Indexed => {
                    let pal = self.palette.as_deref().unwrap_or(&[]);
                    out.color
                        .extend(self.color[0].data[src..src + w].iter().map(|&i| {
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
                    self.color[0].row_into(src, &mut row);
                    out.color.extend(row.iter().map(|&g| [g, g, g, 0.0]));
                }
                ColorMode::Rgb | ColorMode::Lab => {
                    for (lane, ch) in lanes.iter_mut().zip(&self.color[..3]) {
                        ch.row_into(src, lane);
                    }
                    let [l0, l1, l2, _] = &lanes;
                    out.color.extend(
                        l0.iter()
                            .zip(l1)
                            .zip(l2)
                            .map(|((&a, &b), &c)| [a, b, c, 0.0]),
                    );
                }
                ColorMode::Cmyk => {
                    for (lane, ch) in lanes.iter_mut().zip(&self.color[..4]) {
                        ch.row_into(src, lane);
                    }
                    let [l0, l1, l2, l3] = &lanes;
                    out.color.extend(
                        l0.iter()
                            .zip(l1)
                            .zip(l2)
                            .zip(l3)
                            .map(|(((&a, &b), &c), &d)| [a, b, c, d]),
                    );
                }
            }
            let start = out.alpha.len();
            match &self.alpha {
                Some(a) => {
                    out.alpha.resize(start + w, 0.0);
                    a.row_into(src, &mut out.alpha[start..]);
                }
                None => out.alpha.resize(start + w, 1.0),
            }
        }
        out
    }
}
