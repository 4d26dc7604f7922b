//! Pixel buffers the compositor works on.

/// Colour lanes of one pixel in the document's working space.
///
/// * RGB: `[r, g, b, 0]`
/// * Grayscale (and duotone, bitmap): `[g, g, g, 0]`, so that
///   non-separable blend modes see a neutral colour.
/// * CMYK: the stored (inverted) values `[c', m', y', k']` where 1 means no
///   ink, so every blend formula behaves as Photoshop's does on CMYK data.
/// * Lab: `[L, a, b, 0]` as stored, each scaled to 0..1.
///
/// Values are nominally 0..1; 32-bit documents may go above 1 (linear HDR).
pub type Color = [f32; 4];

/// A half-open rectangle in canvas pixels (may extend past the canvas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Rect {
    /// Left edge (inclusive).
    pub left: i32,
    /// Top edge (inclusive).
    pub top: i32,
    /// Right edge (exclusive).
    pub right: i32,
    /// Bottom edge (exclusive).
    pub bottom: i32,
}

impl Rect {
    /// A rectangle from origin and size.
    pub fn new(left: i32, top: i32, width: u32, height: u32) -> Self {
        Rect {
            left,
            top,
            right: left.saturating_add(width as i32),
            bottom: top.saturating_add(height as i32),
        }
    }
    /// Width (0 when empty).
    pub fn width(&self) -> u32 {
        (self.right as i64 - self.left as i64).max(0) as u32
    }
    /// Height (0 when empty).
    pub fn height(&self) -> u32 {
        (self.bottom as i64 - self.top as i64).max(0) as u32
    }
    /// True when it covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
    /// Pixel count.
    pub fn area(&self) -> u64 {
        self.width() as u64 * self.height() as u64
    }
    /// Intersection; an empty result has `right == left` or
    /// `bottom == top`, never inverted edges, so loops over it do nothing.
    pub fn intersect(&self, o: &Rect) -> Rect {
        let left = self.left.max(o.left);
        let top = self.top.max(o.top);
        Rect {
            left,
            top,
            right: self.right.min(o.right).max(left),
            bottom: self.bottom.min(o.bottom).max(top),
        }
    }
    /// Smallest rectangle holding both (an empty side is ignored).
    pub fn union(&self, o: &Rect) -> Rect {
        if self.is_empty() {
            return *o;
        }
        if o.is_empty() {
            return *self;
        }
        Rect {
            left: self.left.min(o.left),
            top: self.top.min(o.top),
            right: self.right.max(o.right),
            bottom: self.bottom.max(o.bottom),
        }
    }
    /// Grows by `n` pixels on every side.
    pub fn inflate(&self, n: i32) -> Rect {
        Rect {
            left: self.left - n,
            top: self.top - n,
            right: self.right + n,
            bottom: self.bottom + n,
        }
    }
}

/// Straight-alpha pixels covering `rect`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Where the pixels sit on the canvas.
    pub rect: Rect,
    /// Colour lanes, `rect.area()` of them.
    pub color: Vec<Color>,
    /// Alpha 0..1, `rect.area()` of them.
    pub alpha: Vec<f32>,
}

impl Raster {
    /// A fully transparent raster. The caller must have checked `rect.area()`
    /// against the limits.
    pub fn transparent(rect: Rect) -> Self {
        let n = rect.area() as usize;
        Raster {
            rect,
            color: vec![[0.0; 4]; n],
            alpha: vec![0.0; n],
        }
    }

    /// A raster filled with one colour and alpha.
    pub fn filled(rect: Rect, color: Color, alpha: f32) -> Self {
        let n = rect.area() as usize;
        Raster {
            rect,
            color: vec![color; n],
            alpha: vec![alpha; n],
        }
    }

    /// A raster at `rect` from straight-alpha RGBA8 bytes (RGB lanes), or
    /// `None` when the byte count does not match.
    pub fn from_rgba8(rect: Rect, rgba: &[u8]) -> Option<Self> {
        Self::from_pixels8::<4>(rect, rgba)
    }

    /// An opaque raster at `rect` from RGB8 bytes, or `None` when the byte
    /// count does not match. The same raster as [`Raster::from_rgba8`] of
    /// those pixels with alpha 255, without making that copy.
    pub fn from_rgb8(rect: Rect, rgb: &[u8]) -> Option<Self> {
        Self::from_pixels8::<3>(rect, rgb)
    }

    /// RGB8 (`N` = 3) or straight-alpha RGBA8 (`N` = 4) pixels.
    fn from_pixels8<const N: usize>(rect: Rect, px: &[u8]) -> Option<Self> {
        if px.len() as u64 != rect.area() * N as u64 {
            return None;
        }
        // `c as f32 / 255.0` for every byte, computed once: a lookup costs
        // less than the division per channel (2 of the 21 ms a 2-megapixel
        // artwork took to decode in wasm).
        const UNIT: [f32; 256] = {
            let mut t = [0.0f32; 256];
            let mut i = 0;
            while i < 256 {
                t[i] = i as f32 / 255.0;
                i += 1;
            }
            t
        };
        let unit = |c: u8| UNIT[c as usize];
        let color = px
            .chunks_exact(N)
            .map(|p| [unit(p[0]), unit(p[1]), unit(p[2]), 0.0])
            .collect();
        let alpha = if N == 4 {
            px.chunks_exact(N).map(|p| unit(p[3])).collect()
        } else {
            vec![1.0; px.len() / N]
        };
        Some(Raster { rect, color, alpha })
    }

    /// Index of canvas pixel (x, y), if inside.
    #[inline]
    pub fn index(&self, x: i32, y: i32) -> Option<usize> {
        if x < self.rect.left || y < self.rect.top || x >= self.rect.right || y >= self.rect.bottom
        {
            return None;
        }
        Some(
            (y - self.rect.top) as usize * self.rect.width() as usize
                + (x - self.rect.left) as usize,
        )
    }

    /// Row `y` (canvas coordinate) restricted to columns `x0..x1` (canvas),
    /// which must lie inside the raster.
    #[inline]
    pub fn span(&self, y: i32, x0: i32, x1: i32) -> (&[Color], &[f32]) {
        let w = self.rect.width() as usize;
        let start = (y - self.rect.top) as usize * w + (x0 - self.rect.left) as usize;
        let end = start + (x1 - x0) as usize;
        (&self.color[start..end], &self.alpha[start..end])
    }

    /// Mutable form of [`Raster::span`].
    #[inline]
    pub fn span_mut(&mut self, y: i32, x0: i32, x1: i32) -> (&mut [Color], &mut [f32]) {
        let w = self.rect.width() as usize;
        let start = (y - self.rect.top) as usize * w + (x0 - self.rect.left) as usize;
        let end = start + (x1 - x0) as usize;
        (&mut self.color[start..end], &mut self.alpha[start..end])
    }

    /// Alpha of canvas pixel (x, y), 0 outside.
    #[inline]
    pub fn alpha_at(&self, x: i32, y: i32) -> f32 {
        self.index(x, y).map_or(0.0, |i| self.alpha[i])
    }
}

/// A single-channel coverage plane (masks, effect shapes) over `rect`; pixels
/// outside take `outside`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// Where the values sit on the canvas.
    pub rect: Rect,
    /// Values 0..1, row-major.
    pub data: Vec<f32>,
    /// Value of every pixel outside `rect`.
    pub outside: f32,
}

impl Plane {
    /// Value at canvas pixel (x, y).
    #[inline]
    pub fn at(&self, x: i32, y: i32) -> f32 {
        let r = &self.rect;
        if x < r.left || y < r.top || x >= r.right || y >= r.bottom {
            return self.outside;
        }
        self.data[(y - r.top) as usize * r.width() as usize + (x - r.left) as usize]
    }
}

/// Whether every pixel of straight or premultiplied RGBA8 data has full
/// alpha. Encoders then skip flattening and the scaler skips alpha
/// premultiplication, whose work is the identity on opaque pixels.
///
/// Reads fixed blocks without an early exit per pixel, two pixels per
/// 64-bit word, so the loop vectorises natively: on a 5.5-megapixel export
/// the per-pixel `all` took ~4% of a wasm render, and a word per pixel
/// still ~3%. In wasm, [`is_opaque_simd128`] reads 64-byte blocks instead.
pub fn is_opaque(rgba: &[u8]) -> bool {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        is_opaque_simd128(rgba)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        is_opaque_words(rgba)
    }
}

/// [`is_opaque`] in wasm: four 16-byte loads ANDed per 64-byte block, one
/// test per block. LLVM's vectorised form of [`is_opaque_words`] computed
/// every load's address separately, and Cranelift spilled them: ~2% of a
/// 1920-px render in the service.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn is_opaque_simd128(rgba: &[u8]) -> bool {
    use core::arch::wasm32::{u32x4_splat, v128, v128_and, v128_andnot, v128_any_true, v128_load};
    let alphas = u32x4_splat(0xff00_0000);
    let blocks = rgba.chunks_exact(64);
    let tail = blocks.remainder();
    for block in blocks {
        let p = block.as_ptr() as *const v128;
        // SAFETY: `block` is 64 bytes: four unaligned 16-byte loads.
        let all = unsafe {
            v128_and(
                v128_and(v128_load(p), v128_load(p.add(1))),
                v128_and(v128_load(p.add(2)), v128_load(p.add(3))),
            )
        };
        if v128_any_true(v128_andnot(alphas, all)) {
            return false;
        }
    }
    is_opaque_words(tail)
}

/// [`is_opaque`] over 64-bit words.
fn is_opaque_words(rgba: &[u8]) -> bool {
    // AND of pixel pairs as little-endian words: alpha is the top byte of
    // each half.
    const ALPHAS: u64 = 0xff00_0000_ff00_0000;
    const BLOCK: usize = 64 * 4;
    let full = |px: &[u8]| {
        let words = px.chunks_exact(8);
        let last = match *words.remainder() {
            [.., a] => a,
            [] => 255,
        };
        let all = words.fold(u64::MAX, |m, w| {
            m & u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])
        });
        all & ALPHAS == ALPHAS && last == 255
    };
    let blocks = rgba.chunks_exact(BLOCK);
    let tail = blocks.remainder();
    for block in blocks {
        if !full(block) {
            return false;
        }
    }
    full(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb8_is_rgba8_with_opaque_alpha() {
        let rgb: Vec<u8> = (0..=255u8).flat_map(|c| [c, 255 - c, c / 3]).collect();
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let rect = Rect::new(3, -2, 16, 16);
        let a = Raster::from_rgb8(rect, &rgb).unwrap();
        let b = Raster::from_rgba8(rect, &rgba).unwrap();
        assert!(a.color == b.color && a.alpha == b.alpha);
        // The lookup gives the divided value, bit for bit.
        for (i, c) in b.color.iter().enumerate() {
            assert_eq!(c[0].to_bits(), (rgb[i * 3] as f32 / 255.0).to_bits());
        }
        assert!(Raster::from_rgb8(rect, &rgb[3..]).is_none());
    }

    #[test]
    fn disjoint_intersection_is_empty_not_inverted() {
        let a = Rect::new(0, 0, 10, 10);
        let b = Rect::new(20, 30, 5, 5);
        let i = a.intersect(&b);
        assert!(i.is_empty());
        assert!(i.right >= i.left && i.bottom >= i.top);
        assert_eq!(a.intersect(&Rect::new(5, 5, 10, 10)), Rect::new(5, 5, 5, 5));
    }

    #[test]
    fn opacity_is_seen_in_every_pixel_and_the_tail() {
        let mut px = vec![255u8; 4 * 301];
        assert!(is_opaque(&px));
        assert!(is_opaque(&[]));
        for i in [0, 63, 64, 299, 300] {
            let mut p = px.clone();
            p[i * 4 + 3] = 254;
            assert!(!is_opaque(&p), "pixel {i}");
            // Colour channels never count as alpha.
            p[i * 4 + 3] = 255;
            p[i * 4] = 0;
            assert!(is_opaque(&p), "colour of pixel {i}");
        }
        px[4 * 300 + 3] = 0;
        assert!(!is_opaque(&px));
    }
}
