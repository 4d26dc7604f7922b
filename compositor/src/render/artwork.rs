//! Preparing a user's artwork for a smart object: rotation, flips, fit,
//! size and position overrides and tiling within the smart object's own
//! pixel frame, then the artwork adjustments and colour overlay of the
//! render request.
//!
//! Everything geometric becomes one projective map per copy of the artwork
//! (the corners of the rotated, flipped, fitted artwork in the frame), drawn
//! with [`place::warp`](crate::render::place::warp), so the artwork is
//! resampled once, with anti-aliased edges, whatever the options.

use crate::render::blend::BlendMode;
use crate::render::place::{downscale_box, warp, Homography};
use crate::render::raster::{Color, Raster, Rect};
use crate::request::{ArtworkAdjustments, Asset, Fit};
use std::sync::{Arc, Mutex};

/// Corners (TL, TR, BR, BL) of the artwork in the frame for one copy whose
/// box is `bx, by, bw, bh`, after rotation (clockwise degrees, about the
/// artwork's centre, the rotated bounding box being what is fitted), flips
/// and fit.
fn corners(art_w: f64, art_h: f64, asset: &Asset, [bx, by, bw, bh]: [f64; 4]) -> [f64; 8] {
    let (rotate, flip_h, flip_v, fit) = (
        asset.rotate as f64,
        asset.flip_horizontal,
        asset.flip_vertical,
        asset.fit,
    );
    let t = rotate.to_radians();
    let (c, s) = (t.cos(), t.sin());
    // Corners relative to the centre, rotated clockwise (y points down).
    let mut pts = [
        (-art_w / 2.0, -art_h / 2.0),
        (art_w / 2.0, -art_h / 2.0),
        (art_w / 2.0, art_h / 2.0),
        (-art_w / 2.0, art_h / 2.0),
    ];
    for p in &mut pts {
        *p = (p.0 * c - p.1 * s, p.0 * s + p.1 * c);
    }
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for p in &pts {
        x0 = x0.min(p.0);
        y0 = y0.min(p.1);
        x1 = x1.max(p.0);
        y1 = y1.max(p.1);
    }
    let (rw, rh) = ((x1 - x0).max(1e-9), (y1 - y0).max(1e-9));
    let (sx, sy) = match fit {
        Fit::Fill => (bw / rw, bh / rh),
        Fit::Contain => {
            let k = (bw / rw).min(bh / rh);
            (k, k)
        }
        Fit::Cover => {
            let k = (bw / rw).max(bh / rh);
            (k, k)
        }
    };
    let (cx, cy) = (bx + bw / 2.0, by + bh / 2.0);
    let mut out = [0.0; 8];
    for (i, p) in pts.iter().enumerate() {
        let (mut px, mut py) = (p.0, p.1);
        // Flips mirror the placed artwork about the box's centre lines.
        if flip_h {
            px = -px;
        }
        if flip_v {
            py = -py;
        }
        out[2 * i] = cx + px * sx;
        out[2 * i + 1] = cy + py * sy;
    }
    out
}

/// Most copies of a tiled artwork in one frame.
pub const MAX_TILES: u64 = 4096;

/// How many copies `asset` draws into a `frame_w` x `frame_h` frame for an
/// `art_w` x `art_h` artwork (1 unless tiled).
pub fn copies(asset: &Asset, art_w: u32, art_h: u32, frame_w: u32, frame_h: u32) -> u64 {
    if !asset.tile {
        return 1;
    }
    let (bw, bh) = box_size(
        asset,
        art_w as f64,
        art_h as f64,
        frame_w as f64,
        frame_h as f64,
    );
    let gap = 1.0 + asset.tile_spacing as f64 / 100.0;
    let n = |frame: f64, tile: f64| (frame / (tile * gap).max(1e-9)).ceil() + 1.0;
    (n(frame_w as f64, bw) * n(frame_h as f64, bh)).min(u64::MAX as f64) as u64
}

/// The box one copy is fitted into: the size override (a missing side keeps
/// the artwork's aspect ratio), else the whole frame.
fn box_size(asset: &Asset, aw: f64, ah: f64, fw: f64, fh: f64) -> (f64, f64) {
    match asset.size {
        Some((Some(w), Some(h))) => (w as f64, h as f64),
        Some((Some(w), None)) => (w as f64, w as f64 * ah / aw.max(1e-9)),
        Some((None, Some(h))) => (h as f64 * aw / ah.max(1e-9), h as f64),
        _ => (fw, fh),
    }
}

/// A decoded artwork with the box-reduced copies made of it, each kept for
/// the next placement at the same reduction: a live preview places the
/// same artwork again on every option change.
#[derive(Debug)]
pub struct Artwork {
    /// The pixels and their reductions, shared by the artworks of one
    /// request that come from the same image ([`Artwork::sharing`]).
    source: Arc<Source>,
    /// With [`Artwork::remember_layout`], the last frame drawn and what it
    /// was drawn for: a preview's adjustment and colour sliders then skip
    /// the warp.
    last_frame: Option<Mutex<Option<(Layout, Raster)>>>,
}

/// A decoded image and the box-reduced copies made of it so far.
#[derive(Debug)]
struct Source {
    pixels: Raster,
    reduced: Mutex<Vec<(u32, Arc<Raster>)>>,
}

/// What [`place_in_frame`] draws depends on: the asset without its source,
/// and the frame size.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Layout {
    fit: Fit,
    rotate: i32,
    flips: (bool, bool),
    size: Option<(Option<u32>, Option<u32>)>,
    position: Option<(Option<i32>, Option<i32>)>,
    tile: (bool, u32),
    frame: (u32, u32),
}

impl Layout {
    fn of(a: &Asset, frame_w: u32, frame_h: u32) -> Layout {
        Layout {
            fit: a.fit,
            rotate: a.rotate,
            flips: (a.flip_horizontal, a.flip_vertical),
            size: a.size,
            position: a.position,
            tile: (a.tile, a.tile_spacing),
            frame: (frame_w, frame_h),
        }
    }
}

impl Artwork {
    /// A decoded artwork at the origin.
    pub fn new(pixels: Raster) -> Artwork {
        Artwork {
            source: Arc::new(Source {
                pixels,
                reduced: Mutex::new(Vec::new()),
            }),
            last_frame: None,
        }
    }

    /// Another artwork of the same image: the pixels and reductions are
    /// shared (decoded and reduced once), the remembered layout is its own.
    pub fn sharing(&self) -> Artwork {
        Artwork {
            source: Arc::clone(&self.source),
            last_frame: self.last_frame.as_ref().map(|_| Mutex::new(None)),
        }
    }

    /// Whether `self` and `other` share their pixels (for tests).
    #[cfg(test)]
    pub(crate) fn shares_pixels_with(&self, other: &Artwork) -> bool {
        Arc::ptr_eq(&self.source, &other.source)
    }

    /// Keeps the last frame [`place_in_frame`] draws (a copy of it), for
    /// callers that place the same artwork again and again.
    pub fn remember_layout(&mut self) {
        self.last_frame.get_or_insert_with(|| Mutex::new(None));
    }

    /// The artwork's pixels.
    pub fn pixels(&self) -> &Raster {
        &self.source.pixels
    }

    /// The artwork shrunk by `factor` ([`downscale_box`]), made on first use.
    fn reduced(&self, factor: u32) -> Arc<Raster> {
        // A poisoned lock only means a panic elsewhere mid-insert; the list
        // is still valid.
        let mut list = self
            .source
            .reduced
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, r)) = list.iter().find(|(f, _)| *f == factor) {
            return Arc::clone(r);
        }
        let r = Arc::new(downscale_box(&self.source.pixels, factor));
        list.push((factor, Arc::clone(&r)));
        r
    }
}

/// Draws the artwork into a `frame_w` x `frame_h` transparent raster as the
/// asset's options say. Callers check [`copies`] against [`MAX_TILES`]
/// first.
pub fn place_in_frame(art: &Artwork, asset: &Asset, frame_w: u32, frame_h: u32) -> Raster {
    let Some(last) = &art.last_frame else {
        return draw_in_frame(art, asset, frame_w, frame_h);
    };
    let layout = Layout::of(asset, frame_w, frame_h);
    let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
    match &*last {
        Some((l, frame)) if *l == layout => frame.clone(),
        _ => {
            let frame = draw_in_frame(art, asset, frame_w, frame_h);
            *last = Some((layout, frame.clone()));
            frame
        }
    }
}

/// [`place_in_frame`] without the memory of the last frame.
fn draw_in_frame(art: &Artwork, asset: &Asset, frame_w: u32, frame_h: u32) -> Raster {
    let (art, reductions) = (art.pixels(), art);
    let frame = Rect::new(0, 0, frame_w, frame_h);
    let mut out = Raster::transparent(frame);
    let (aw, ah) = (art.rect.width() as f64, art.rect.height() as f64);
    if aw <= 0.0 || ah <= 0.0 || frame.is_empty() {
        return out;
    }
    let (fw, fh) = (frame_w as f64, frame_h as f64);
    let (bw, bh) = box_size(asset, aw, ah, fw, fh);
    // With a size, the position places the box's top-left (default:
    // centred); without one, the box is the frame.
    let (bx, by) = match (asset.size.is_some(), asset.position) {
        (true, Some((top, left))) => (
            left.map_or((fw - bw) / 2.0, f64::from),
            top.map_or((fh - bh) / 2.0, f64::from),
        ),
        (true, None) => ((fw - bw) / 2.0, (fh - bh) / 2.0),
        (false, _) => (0.0, 0.0),
    };
    // Reduce a much larger artwork first so the bilinear warp skips
    // nothing, by the scale along its more enlarged axis: under `cover` or
    // `fill` the two differ, and reducing by the smaller one would shrink
    // the artwork below the frame's resolution and blur it.
    let q = corners(aw, ah, asset, [bx, by, bw, bh]);
    let along = |i: usize, len: f64| (q[2 * i] - q[0]).hypot(q[2 * i + 1] - q[1]) / len;
    let scale = along(1, aw).max(along(3, ah));
    let factor = if scale > 0.0 && scale.is_finite() {
        (1.0 / scale).floor().clamp(1.0, 64.0) as u32
    } else {
        1
    };
    let small;
    let (src, sw, sh) = if factor > 1 {
        small = reductions.reduced(factor);
        (&*small, aw / factor as f64, ah / factor as f64)
    } else {
        (art, aw, ah)
    };
    let copy = |bx: f64, by: f64, out: &mut Raster| {
        let quad = corners(aw, ah, asset, [bx, by, bw, bh]);
        if let Some(h) = Homography::from_rect_to_quad(sw, sh, &quad) {
            let drawn = warp(src, &h, frame);
            crate::render::composite_raster(out, &drawn, BlendMode::Normal, 1.0, 1.0);
        }
    };
    if asset.tile && bw >= 1.0 && bh >= 1.0 {
        let gap = asset.tile_spacing as f64 / 100.0;
        let (step_x, step_y) = (bw * (1.0 + gap), bh * (1.0 + gap));
        // Tiles start at the box position and repeat both ways to cover the
        // frame; the count is bounded by the frame and the minimum tile size.
        let start_x = bx - ((bx / step_x).ceil()) * step_x;
        let start_y = by - ((by / step_y).ceil()) * step_y;
        let mut y = start_y;
        while y < fh {
            let mut x = start_x;
            while x < fw {
                copy(x, y, &mut out);
                x += step_x;
            }
            y += step_y;
        }
    } else {
        copy(bx, by, &mut out);
    }
    out
}

/// A frame filled with one colour (a colour without artwork).
pub fn solid_frame(frame_w: u32, frame_h: u32, color: Color) -> Raster {
    Raster::filled(Rect::new(0, 0, frame_w, frame_h), color, 1.0)
}

/// Blends a colour over the artwork's own pixels with `mode` (the
/// artwork's alpha is kept: the colour tints the artwork, it does not add
/// coverage).
pub fn overlay_color(r: &mut Raster, color: Color, mode: BlendMode) {
    let solid = Raster::filled(r.rect, color, 1.0);
    let saved = std::mem::replace(&mut r.alpha, vec![1.0; r.rect.area() as usize]);
    crate::render::composite_raster(r, &solid, mode, 1.0, 1.0);
    r.alpha = saved;
}

/// Applies the request's artwork adjustments to sRGB-lane pixels.
///
/// Brightness shifts by `b/150` of the range; contrast scales about mid
/// grey by `(1 + c/100)` (clamped at -100 to flat grey); saturation mixes
/// with the Rec. 601 luma (`-100` is grey, `+100` doubles chroma); vibrance
/// is saturation weighted by how unsaturated a pixel already is; opacity
/// scales alpha; blur is a Gaussian of standard deviation `blur / 4` px.
pub fn adjust(r: &mut Raster, adj: &ArtworkAdjustments) {
    let b = adj.brightness as f32 / 150.0;
    let c = 1.0 + adj.contrast as f32 / 100.0;
    let s = 1.0 + adj.saturation as f32 / 100.0;
    let v = adj.vibrance as f32 / 100.0;
    let tone = adj.brightness != 0 || adj.contrast != 0 || adj.saturation != 0 || adj.vibrance != 0;
    if tone {
        for px in &mut r.color {
            let mut rgb = [px[0], px[1], px[2]];
            for ch in &mut rgb {
                *ch = ((*ch + b - 0.5) * c + 0.5).clamp(0.0, 1.0);
            }
            let luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
            let (mx, mn) = (
                rgb[0].max(rgb[1]).max(rgb[2]),
                rgb[0].min(rgb[1]).min(rgb[2]),
            );
            let vib = 1.0 + v * (1.0 - (mx - mn));
            let k = s * vib;
            for ch in &mut rgb {
                *ch = (luma + (*ch - luma) * k).clamp(0.0, 1.0);
            }
            px[..3].copy_from_slice(&rgb);
        }
    }
    if adj.opacity < 100 {
        let o = adj.opacity.clamp(0, 100) as f32 / 100.0;
        r.alpha.iter_mut().for_each(|a| *a *= o);
    }
    if adj.blur > 0 {
        blur_premultiplied(r, adj.blur as f32 / 4.0);
    }
}

/// Gaussian blur of colour and alpha together (premultiplied, so
/// transparent pixels do not darken edges).
fn blur_premultiplied(r: &mut Raster, sigma: f32) {
    let (w, h) = (r.rect.width() as usize, r.rect.height() as usize);
    let mut planes: Vec<Vec<f32>> = (0..3)
        .map(|k| {
            r.color
                .iter()
                .zip(&r.alpha)
                .map(|(c, a)| c[k] * a)
                .collect()
        })
        .collect();
    let mut alpha = r.alpha.clone();
    for p in &mut planes {
        crate::render::effects::blur::gaussian_blur(p, w, h, sigma);
    }
    crate::render::effects::blur::gaussian_blur(&mut alpha, w, h, sigma);
    for (i, a) in alpha.iter().enumerate() {
        r.alpha[i] = a.clamp(0.0, 1.0);
        if *a > 1e-6 {
            for (k, plane) in planes.iter().enumerate() {
                r.color[i][k] = (plane[i] / a).clamp(0.0, 1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::AssetSource;

    fn asset(fit: Fit) -> Asset {
        Asset {
            source: AssetSource::Url("https://x/a.png".into()),
            fit,
            rotate: 0,
            flip_horizontal: false,
            flip_vertical: false,
            size: None,
            position: None,
            tile: false,
            tile_spacing: 0,
        }
    }

    /// A 20 x 10 artwork: left half red, right half blue.
    fn art() -> Raster {
        let mut r = Raster::filled(Rect::new(0, 0, 20, 10), [1.0, 0.0, 0.0, 0.0], 1.0);
        for y in 0..10 {
            for x in 10..20 {
                r.color[y * 20 + x] = [0.0, 0.0, 1.0, 0.0];
            }
        }
        r
    }

    fn px(r: &Raster, x: i32, y: i32) -> (Color, f32) {
        let i = r.index(x, y).unwrap();
        (r.color[i], r.alpha[i])
    }

    #[test]
    fn fill_stretches_contain_letterboxes_cover_crops() {
        let a = art();
        let fill = place_in_frame(&Artwork::new(a.clone()), &asset(Fit::Fill), 40, 40);
        assert_eq!(px(&fill, 5, 2), ([1.0, 0.0, 0.0, 0.0], 1.0));
        assert_eq!(px(&fill, 35, 37), ([0.0, 0.0, 1.0, 0.0], 1.0));
        let contain = place_in_frame(&Artwork::new(a.clone()), &asset(Fit::Contain), 40, 40);
        // 2:1 artwork in a square: rows 0..10 and 30..40 stay empty.
        assert_eq!(px(&contain, 20, 5).1, 0.0);
        assert_eq!(px(&contain, 5, 20).1, 1.0);
        assert_eq!(px(&contain, 20, 35).1, 0.0);
        let cover = place_in_frame(&Artwork::new(a.clone()), &asset(Fit::Cover), 40, 40);
        // Scaled to 80 x 40 and centred: everything covered, the middle
        // column at the red/blue seam.
        assert_eq!(px(&cover, 0, 0), ([1.0, 0.0, 0.0, 0.0], 1.0));
        assert_eq!(px(&cover, 39, 39), ([0.0, 0.0, 1.0, 0.0], 1.0));
    }

    #[test]
    fn cover_keeps_the_detail_of_a_wide_artwork() {
        // 400 x 100 of 2-pixel stripes, covering a 100 x 100 frame: shown at
        // its own scale (cropped), the stripes must stay sharp. Reducing by
        // the narrow axis's scale (4x) would average them to grey.
        let (w, h) = (400u32, 100u32);
        let mut a = Raster::transparent(Rect::new(0, 0, w, h));
        for (i, c) in a.color.iter_mut().enumerate() {
            let on = (i as u32 % w / 2).is_multiple_of(2);
            *c = if on { [1.0, 1.0, 1.0, 0.0] } else { [0.0; 4] };
        }
        a.alpha.iter_mut().for_each(|v| *v = 1.0);
        let cover = place_in_frame(&Artwork::new(a), &asset(Fit::Cover), 100, 100);
        let row: Vec<f32> = (0..100).map(|x| px(&cover, x, 50).0[0]).collect();
        let (lo, hi) = row
            .iter()
            .fold((1f32, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(hi - lo > 0.9, "stripes flattened to {lo}..{hi}");
    }

    #[test]
    fn rotation_is_clockwise_and_flips_mirror() {
        let a = art();
        let mut rot = asset(Fit::Fill);
        rot.rotate = 90;
        // Rotated 90 degrees clockwise, the left (red) half goes to the top.
        let r = place_in_frame(&Artwork::new(a.clone()), &rot, 10, 20);
        assert_eq!(px(&r, 5, 2).0, [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(px(&r, 5, 17).0, [0.0, 0.0, 1.0, 0.0]);
        let mut flip = asset(Fit::Fill);
        flip.flip_horizontal = true;
        let f = place_in_frame(&Artwork::new(a.clone()), &flip, 20, 10);
        assert_eq!(px(&f, 2, 5).0, [0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn size_and_position_place_one_copy_and_tiles_repeat_it() {
        let a = art();
        let mut s = asset(Fit::Fill);
        s.size = Some((Some(10), Some(5)));
        s.position = Some((Some(2), Some(3)));
        let r = place_in_frame(&Artwork::new(a.clone()), &s, 40, 40);
        assert_eq!(px(&r, 3, 2).1, 1.0);
        assert_eq!(px(&r, 12, 6).1, 1.0);
        assert_eq!(px(&r, 13, 2).1, 0.0);
        assert_eq!(px(&r, 3, 7).1, 0.0);
        s.tile = true;
        s.tile_spacing = 100; // gaps as wide as a tile
        let t = place_in_frame(&Artwork::new(a.clone()), &s, 40, 40);
        assert_eq!(px(&t, 3, 2).1, 1.0); // the positioned tile
        assert_eq!(px(&t, 23, 2).1, 1.0); // next tile to the right
        assert_eq!(px(&t, 15, 2).1, 0.0); // the gap
        assert_eq!(px(&t, 3, 12).1, 1.0); // next row
    }

    #[test]
    fn adjustments_move_pixels_as_documented() {
        let mut r = Raster::filled(Rect::new(0, 0, 1, 1), [0.5, 0.25, 0.75, 0.0], 1.0);
        adjust(
            &mut r,
            &ArtworkAdjustments {
                saturation: -100,
                opacity: 50,
                ..Default::default()
            },
        );
        let luma = 0.299 * 0.5 + 0.587 * 0.25 + 0.114 * 0.75;
        for k in 0..3 {
            assert!((r.color[0][k] - luma).abs() < 1e-6);
        }
        assert_eq!(r.alpha[0], 0.5);
        let mut r = Raster::filled(Rect::new(0, 0, 1, 1), [0.5, 0.5, 0.5, 0.0], 1.0);
        adjust(
            &mut r,
            &ArtworkAdjustments {
                brightness: 75,
                opacity: 100,
                ..Default::default()
            },
        );
        assert!((r.color[0][0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn overlay_tints_without_adding_coverage() {
        let mut r = Raster::filled(Rect::new(0, 0, 2, 1), [1.0, 1.0, 1.0, 0.0], 1.0);
        r.alpha[1] = 0.0;
        overlay_color(&mut r, [1.0, 0.0, 0.0, 0.0], BlendMode::Multiply);
        assert_eq!(r.color[0], [1.0, 0.0, 0.0, 0.0]);
        assert_eq!(r.alpha, vec![1.0, 0.0]);
    }
}
