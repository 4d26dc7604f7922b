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
        let mut out = Raster::transparent(r);
        if r.is_empty() {
            return out;
        }
        let (w, sw) = (r.width() as usize, self.rect.width() as usize);
        let mut row = vec![0.0f32; w];
        for y in r.top..r.bottom {
            let src = (y - self.rect.top) as usize * sw + (r.left - self.rect.left) as usize;
            let dst = (y - r.top) as usize * w;
            let colors = &mut out.color[dst..dst + w];
            match self.mode {
                ColorMode::Indexed => {
                    let pal = self.palette.as_deref().unwrap_or(&[]);
                    for (px, &i) in colors.iter_mut().zip(&self.color[0].data[src..src + w]) {
                        let c = pal.get(i as usize).copied().unwrap_or([0, 0, 0]);
                        *px = [
                            c[0] as f32 / 255.0,
                            c[1] as f32 / 255.0,
                            c[2] as f32 / 255.0,
                            0.0,
                        ];
                    }
                }
                ColorMode::Bitmap
                | ColorMode::Grayscale
                | ColorMode::Duotone
                | ColorMode::Multichannel => {
                    self.color[0].row_into(src, &mut row);
                    for (px, &g) in colors.iter_mut().zip(&row) {
                        *px = [g, g, g, 0.0];
                    }
                }
                ColorMode::Rgb | ColorMode::Lab | ColorMode::Cmyk => {
                    for (lane, ch) in self
                        .color
                        .iter()
                        .take(self.mode.color_channels())
                        .enumerate()
                    {
                        ch.row_into(src, &mut row);
                        for (px, &v) in colors.iter_mut().zip(&row) {
                            px[lane] = v;
                        }
                    }
                }
            }
            let alphas = &mut out.alpha[dst..dst + w];
            match &self.alpha {
                Some(a) => a.row_into(src, alphas),
                None => alphas.fill(1.0),
            }
        }
        out
    }
}
