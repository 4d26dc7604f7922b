//! Colour: the document's colour mode, its working space for compositing,
//! and conversion between working lanes and sRGB.
//!
//! Working lanes follow [`crate::render::raster::Color`]: RGB `[r,g,b,0]`,
//! gray-like modes `[g,g,g,0]`, CMYK stored (inverted) values with 1 = no
//! ink, Lab `[L,a,b,0]` scaled 0..1 as stored.
//!
//! Choices, and why:
//!
//! * **RGB** with an embedded profile is converted to sRGB with moxcms
//!   (relative colorimetric) unless the profile behaves like sRGB, in which
//!   case values pass through bit-exactly. No profile means sRGB (what
//!   Photoshop assumes with the default "sRGB IEC61966-2.1" working space and
//!   what psd-tools does).
//! * **Grayscale / Duotone / Bitmap / Multichannel** use lane 0. With a gray
//!   profile (Photoshop embeds "Dot Gain 20%" or "Gray Gamma 2.2") its tone
//!   curve is honoured. Without one, gray is taken as sRGB-encoded, as
//!   psd-tools does (it shows gray as PIL "L" unconverted). Photoshop itself
//!   would assume its gray working space, by default "Dot Gain 20%", which
//!   shows midtones lighter (stored 50% gray displays as sRGB 149, not 128);
//!   we do not ship that profile, and files saved by Photoshop normally
//!   embed their profile anyway. Duotone inks are not
//!   simulated (the duotone curves in the colour-mode data are ignored); the
//!   first channel shows as gray. Multichannel shows its first channel as
//!   gray.
//! * **CMYK** with a profile: relative colorimetric with black point
//!   compensation, Photoshop's default conversion and display intent. The
//!   profile is sampled once per converter into a 17^4 table (moxcms gives
//!   PCS values; BPC with Adobe's black point detection and the XYZ to sRGB
//!   step are ours) and pixels are interpolated (tetrahedral in C, M, Y,
//!   linear in K). With U.S. Web Coated (SWOP) v2 this reproduces
//!   Photoshop's well-known sRGB values of the process inks within 1/255:
//!   cyan #00AEEF, magenta #EC008C, yellow #FFF200, black #231F20.
//!   Without a profile: the naive `R = (1-C)(1-K)` per channel on
//!   ink values, i.e. `c' * k'` on stored values, the formula psd-tools and
//!   most readers use; Photoshop would use its CMYK working space (U.S. Web
//!   Coated SWOP v2), which we cannot ship.
//! * **Lab** (D50, Photoshop's Lab) converts to sRGB through XYZ with the
//!   ICC sRGB colorants (Bradford D50), i.e. what an ICC relative
//!   colorimetric conversion to sRGB gives. Lanes hold the stored values
//!   scaled to 0..1, so `L* = lane * 100` at every depth. 8-bit a*/b* are
//!   stored with 128 = 0, giving `a* = lane * 255 - 128`; 16-bit files hold
//!   Photoshop's internal 0..32768 range scaled to 0..65535 with neutral at
//!   32768, giving `a* = (lane * 65535 - 32768) / 256`.
//! * **32-bit** documents hold linear light (Photoshop embeds e.g. "sRGB
//!   IEC61966-2.1 (Linear RGB Profile)"). We map the profile's primaries to
//!   sRGB and apply the sRGB curve, which is what Photoshop's 32 to 8-bit
//!   conversion gives with its default "Exposure and Gamma" settings
//!   (exposure 0, gamma 1) and how it displays the document. psd-tools
//!   instead scales the linear values straight to 8 bits, which looks far
//!   too dark. Values above 1 clip.
//! * **Indexed** documents are expanded to RGB when read; [`palette_rgb`]
//!   parses the palette.

mod descriptor;
mod icc;
pub(crate) mod math;

use std::sync::{Arc, Mutex};

use moxcms::{ColorProfile, Layout, TransformExecutor};

use crate::render::raster::Color;
use math::SrgbEncoder;

pub use descriptor::{descriptor_color, descriptor_color_with};

/// The colour mode in the file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    /// 1-bit black and white (mode 0).
    Bitmap,
    /// One gray channel (mode 1).
    Grayscale,
    /// Palette indices (mode 2); expanded to RGB when read.
    Indexed,
    /// Red, green, blue (mode 3).
    Rgb,
    /// Cyan, magenta, yellow, black, stored inverted (mode 4).
    Cmyk,
    /// Independent ink channels (mode 7); shown as the first channel.
    Multichannel,
    /// One gray channel printed with up to four inks (mode 8).
    Duotone,
    /// CIE L*a*b* (mode 9).
    Lab,
}

impl ColorMode {
    /// From the header's mode number.
    pub fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0 => ColorMode::Bitmap,
            1 => ColorMode::Grayscale,
            2 => ColorMode::Indexed,
            3 => ColorMode::Rgb,
            4 => ColorMode::Cmyk,
            7 => ColorMode::Multichannel,
            8 => ColorMode::Duotone,
            9 => ColorMode::Lab,
            _ => return None,
        })
    }

    /// Number of colour channels (not counting alpha) the mode stores per
    /// layer.
    pub fn color_channels(self) -> usize {
        match self {
            ColorMode::Bitmap | ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Indexed => 1,
            ColorMode::Rgb | ColorMode::Lab => 3,
            ColorMode::Cmyk => 4,
            ColorMode::Multichannel => 1,
        }
    }
}

/// Everything needed to interpret colour values of a document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColorInfo {
    /// Header colour mode.
    pub mode: Option<ColorMode>,
    /// Bits per channel (1, 8, 16, 32).
    pub depth: u8,
    /// Embedded ICC profile (resource 1039), if any.
    pub icc_profile: Option<Vec<u8>>,
    /// Indexed palette: 256 RGB triples.
    pub palette: Option<Vec<[u8; 3]>>,
    /// Raw colour-mode data (duotone specification).
    pub color_mode_data: Vec<u8>,
}

/// Parses the indexed-colour palette from the colour-mode data: 256 reds,
/// then 256 greens, then 256 blues. `None` when the data is shorter than
/// 768 bytes.
pub fn palette_rgb(color_mode_data: &[u8]) -> Option<Vec<[u8; 3]>> {
    let r = color_mode_data.get(0..256)?;
    let g = color_mode_data.get(256..512)?;
    let b = color_mode_data.get(512..768)?;
    Some((0..256).map(|i| [r[i], g[i], b[i]]).collect())
}

/// Fills working lanes from a pixel's channel values (0..1, in file channel
/// order): RGB, Lab and CMYK keep their channels (CMYK as stored, 1 = no
/// ink); single-channel modes repeat channel 0 into lanes 0..3.
pub fn lanes_from_channels(mode: ColorMode, ch: [f32; 4]) -> Color {
    match mode {
        ColorMode::Rgb | ColorMode::Indexed | ColorMode::Lab => [ch[0], ch[1], ch[2], 0.0],
        ColorMode::Cmyk => ch,
        ColorMode::Bitmap | ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Multichannel => {
            [ch[0], ch[0], ch[0], 0.0]
        }
    }
}

/// Converts working-space pixels to sRGB RGBA8, straight alpha, honouring
/// the embedded profile (see the module docs for each mode).
///
/// The conversion is taken from [`SrgbConverter::cached`], so a template's
/// profile is turned into a transform once per process, not once per render.
pub fn to_rgba8(info: &ColorInfo, color: &[Color], alpha: &[f32]) -> Vec<u8> {
    SrgbConverter::cached(info).to_rgba8(color, alpha)
}

/// Recently built converters, keyed by mode, depth and a hash of the
/// profile. Building a transform takes milliseconds (a CMYK table tens of
/// them), more than the rest of a typical render, and a service renders the
/// same templates over and over; effects and fills convert a descriptor
/// colour each, so without the cache one render could build dozens.
static SRGB_CONVERTERS: Mutex<Vec<(u64, Arc<SrgbConverter>)>> = Mutex::new(Vec::new());
static WORKING_CONVERTERS: Mutex<Vec<(u64, Arc<WorkingConverter>)>> = Mutex::new(Vec::new());
/// How many converters of each kind are kept (most recently used last).
const CONVERTER_CACHE: usize = 8;

/// The converter for `info` from `cache`, built with `build` on a miss.
fn cached<T>(
    cache: &Mutex<Vec<(u64, Arc<T>)>>,
    info: &ColorInfo,
    build: impl FnOnce() -> T,
) -> Arc<T> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        info.mode.map(|m| m as u8),
        info.depth,
        info.icc_profile.as_deref(),
    )
        .hash(&mut h);
    let key = h.finish();
    // A poisoned lock only means another render panicked mid-update of this
    // small list; its entries are still whole.
    let mut list = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = list.iter().position(|(k, _)| *k == key) {
        let entry = list.remove(i);
        let conv = entry.1.clone();
        list.push(entry);
        return conv;
    }
    drop(list);
    let conv = Arc::new(build());
    let mut list = cache.lock().unwrap_or_else(|e| e.into_inner());
    if list.len() >= CONVERTER_CACHE {
        list.remove(0);
    }
    list.push((key, conv.clone()));
    conv
}

impl SrgbConverter {
    /// A shared converter for `info`, built on first use.
    pub fn cached(info: &ColorInfo) -> Arc<SrgbConverter> {
        cached(&SRGB_CONVERTERS, info, || SrgbConverter::new(info))
    }
}

impl WorkingConverter {
    /// A shared converter for `info`, built on first use.
    pub fn cached(info: &ColorInfo) -> Arc<WorkingConverter> {
        cached(&WORKING_CONVERTERS, info, || WorkingConverter::new(info))
    }
}

/// sRGB 8-bit colour to working lanes of the document described by `info`.
pub fn working_from_srgb8(info: &ColorInfo, rgb: [u8; 3]) -> Color {
    working_from_rgb_f32(
        info,
        [
            rgb[0] as f32 / 255.0,
            rgb[1] as f32 / 255.0,
            rgb[2] as f32 / 255.0,
        ],
    )
}

/// sRGB-encoded colour (0..1) to working lanes of the document described by
/// `info`.
///
/// Builds the conversion each call; for many colours build a
/// [`WorkingConverter`] once.
pub fn working_from_rgb_f32(info: &ColorInfo, rgb: [f32; 3]) -> Color {
    WorkingConverter::cached(info).srgb_to_lanes(rgb)
}

/// Layout of Lab lanes for a bit depth: `a* = lane * scale - offset`.
#[derive(Debug, Clone, Copy)]
struct LabLanes {
    scale: f32,
    offset: f32,
}

impl LabLanes {
    fn new(depth: u8) -> Self {
        if depth == 16 {
            LabLanes {
                scale: 65535.0 / 256.0,
                offset: 128.0,
            }
        } else {
            LabLanes {
                scale: 255.0,
                offset: 128.0,
            }
        }
    }
    #[inline(always)]
    fn to_lab(self, c: &Color) -> [f32; 3] {
        [
            c[0] * 100.0,
            c[1] * self.scale - self.offset,
            c[2] * self.scale - self.offset,
        ]
    }
    fn to_lanes(self, lab: [f32; 3]) -> Color {
        [
            math::unit(lab[0] / 100.0),
            math::unit((lab[1] + self.offset) / self.scale),
            math::unit((lab[2] + self.offset) / self.scale),
            0.0,
        ]
    }
}

type F32Transform = Arc<dyn TransformExecutor<f32> + Send + Sync>;

/// Steps of the gray tone table.
const GRAY_STEPS: usize = 4096;

enum ToSrgb {
    /// Lanes 0..3 are sRGB already.
    Rgb,
    /// RGB through the embedded profile.
    RgbIcc(F32Transform),
    /// Lane 0 is sRGB-encoded gray.
    Gray,
    /// Lane 0 through a gray profile's table (`GRAY_STEPS + 1` entries).
    GrayTable(Vec<[f32; 3]>),
    /// Linear RGB (32-bit), optionally from other primaries.
    LinearRgb(Option<[[f32; 3]; 3]>, SrgbEncoder),
    /// Linear gray (32-bit).
    LinearGray(SrgbEncoder),
    /// CIE Lab lanes; the matrix takes XYZ (D50) to linear sRGB.
    Lab(LabLanes, [[f32; 3]; 3], SrgbEncoder),
    /// CMYK through the embedded profile.
    Cmyk(icc::CmykTable),
    /// CMYK without a profile.
    CmykNaive,
}

/// A working-space to sRGB RGBA8 conversion, built once per document.
pub struct SrgbConverter {
    path: ToSrgb,
}

impl SrgbConverter {
    /// Prepares the conversion for a document (parses the profile and, for
    /// CMYK, samples it into a lookup table).
    pub fn new(info: &ColorInfo) -> Self {
        let profile = info.icc_profile.as_deref().and_then(icc::parse);
        let mode = info.mode.unwrap_or(ColorMode::Rgb);
        let linear = info.depth == 32;
        let path = match mode {
            ColorMode::Rgb | ColorMode::Indexed if linear => ToSrgb::LinearRgb(
                profile.as_ref().and_then(icc::linear_rgb_matrix),
                SrgbEncoder::new(),
            ),
            ColorMode::Rgb | ColorMode::Indexed => {
                match profile.as_ref().and_then(icc::rgb_transform) {
                    Some(t) => ToSrgb::RgbIcc(t),
                    None => ToSrgb::Rgb,
                }
            }
            ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Bitmap if linear => {
                ToSrgb::LinearGray(SrgbEncoder::new())
            }
            ColorMode::Grayscale | ColorMode::Duotone => {
                match profile
                    .as_ref()
                    .and_then(|p| icc::gray_table(p, GRAY_STEPS))
                {
                    Some(t) => ToSrgb::GrayTable(t),
                    None => ToSrgb::Gray,
                }
            }
            ColorMode::Bitmap | ColorMode::Multichannel => ToSrgb::Gray,
            ColorMode::Lab => ToSrgb::Lab(
                LabLanes::new(info.depth),
                math::xyz_d50_to_srgb(),
                SrgbEncoder::new(),
            ),
            ColorMode::Cmyk => match profile.as_ref().and_then(icc::CmykTable::new) {
                Some(t) => ToSrgb::Cmyk(t),
                None => ToSrgb::CmykNaive,
            },
        };
        SrgbConverter { path }
    }

    /// True when RGB lanes pass through unchanged (sRGB document).
    pub fn is_identity(&self) -> bool {
        matches!(self.path, ToSrgb::Rgb)
    }

    /// Converts pixels to RGBA8 (straight alpha). Converts
    /// `min(color.len(), alpha.len())` pixels.
    pub fn to_rgba8(&self, color: &[Color], alpha: &[f32]) -> Vec<u8> {
        let n = color.len().min(alpha.len());
        let mut out = vec![0u8; n * 4];
        self.convert_into(&color[..n], &alpha[..n], &mut out);
        out
    }

    /// Converts pixels into `out` (4 bytes per pixel; converts as many pixels
    /// as all three slices hold).
    pub fn convert_into(&self, color: &[Color], alpha: &[f32], out: &mut [u8]) {
        let n = color.len().min(alpha.len()).min(out.len() / 4);
        let (color, alpha, out) = (&color[..n], &alpha[..n], &mut out[..n * 4]);
        if let ToSrgb::Rgb = self.path {
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            {
                rgba_u8_simd128(color, alpha, out);
            }
            // Colour and alpha in one pass: four lanes in, four bytes out,
            // which vectorises.
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            for ((o, c), &a) in out.chunks_exact_mut(4).zip(color).zip(alpha) {
                o.copy_from_slice(&rgba_u8(c, a));
            }
            return;
        }
        for (o, &a) in out.chunks_exact_mut(4).zip(alpha) {
            o[3] = math::to_u8(a);
        }
        // One match per buffer, then a tight loop per path.
        match &self.path {
            // Converted above.
            ToSrgb::Rgb => {}
            ToSrgb::Gray => {
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let g = math::to_u8(c[0]);
                    o[0] = g;
                    o[1] = g;
                    o[2] = g;
                }
            }
            ToSrgb::RgbIcc(t) => {
                const BATCH: usize = 1024;
                let mut buf = [0.0f32; BATCH * 3];
                for (cs, os) in color.chunks(BATCH).zip(out.chunks_mut(BATCH * 4)) {
                    let b = &mut buf[..cs.len() * 3];
                    for (d, c) in b.chunks_exact_mut(3).zip(cs) {
                        d[0] = math::unit(c[0]);
                        d[1] = math::unit(c[1]);
                        d[2] = math::unit(c[2]);
                    }
                    if !icc::run_rgb(t, b) {
                        // A transform that fails on valid input would be a
                        // moxcms bug; show the values unconverted.
                        for (d, c) in b.chunks_exact_mut(3).zip(cs) {
                            d.copy_from_slice(&c[..3]);
                        }
                    }
                    for (o, d) in os.chunks_exact_mut(4).zip(b.chunks_exact(3)) {
                        o[0] = math::to_u8(d[0]);
                        o[1] = math::to_u8(d[1]);
                        o[2] = math::to_u8(d[2]);
                    }
                }
            }
            ToSrgb::GrayTable(t) => {
                let last = t.len().saturating_sub(2);
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let x = math::unit(c[0]) * GRAY_STEPS as f32;
                    let i = (x as usize).min(last);
                    let f = x - i as f32;
                    let (a, b) = (t[i], t[i + 1]);
                    o[0] = math::to_u8(a[0] + (b[0] - a[0]) * f);
                    o[1] = math::to_u8(a[1] + (b[1] - a[1]) * f);
                    o[2] = math::to_u8(a[2] + (b[2] - a[2]) * f);
                }
            }
            ToSrgb::LinearRgb(m, enc) => {
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let v = match m {
                        Some(m) => math::mul3(m, [c[0], c[1], c[2]]),
                        None => [c[0], c[1], c[2]],
                    };
                    o[0] = math::to_u8(enc.encode(v[0]));
                    o[1] = math::to_u8(enc.encode(v[1]));
                    o[2] = math::to_u8(enc.encode(v[2]));
                }
            }
            ToSrgb::LinearGray(enc) => {
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let g = math::to_u8(enc.encode(c[0]));
                    o[0] = g;
                    o[1] = g;
                    o[2] = g;
                }
            }
            ToSrgb::Lab(lanes, m, enc) => {
                // Flat areas repeat one colour: remember the last result.
                let mut last: Option<(Color, [u8; 3])> = None;
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let rgb = match last {
                        Some((k, v)) if k == *c => v,
                        _ => {
                            let [l, a, b] = lanes.to_lab(c);
                            let v = math::mul3(m, math::lab_to_xyz(l, a, b));
                            let v = [
                                math::to_u8(enc.encode(v[0])),
                                math::to_u8(enc.encode(v[1])),
                                math::to_u8(enc.encode(v[2])),
                            ];
                            last = Some((*c, v));
                            v
                        }
                    };
                    o[..3].copy_from_slice(&rgb);
                }
            }
            ToSrgb::Cmyk(t) => {
                let mut last: Option<(Color, [u8; 3])> = None;
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let rgb = match last {
                        Some((k, v)) if k == *c => v,
                        _ => {
                            let v = t.eval(c);
                            let v = [math::to_u8(v[0]), math::to_u8(v[1]), math::to_u8(v[2])];
                            last = Some((*c, v));
                            v
                        }
                    };
                    o[..3].copy_from_slice(&rgb);
                }
            }
            ToSrgb::CmykNaive => {
                for (o, c) in out.chunks_exact_mut(4).zip(color) {
                    let k = c[3];
                    o[0] = math::to_u8(c[0] * k);
                    o[1] = math::to_u8(c[1] * k);
                    o[2] = math::to_u8(c[2] * k);
                }
            }
        }
    }
}

/// An sRGB pixel with its alpha as RGBA8 (see [`math::to_u8`]).
#[inline(always)]
fn rgba_u8(c: &Color, a: f32) -> [u8; 4] {
    [c[0], c[1], c[2], a].map(math::to_u8)
}

/// [`rgba_u8`] for every pixel, in wasm: four pixels per step, each one
/// `v128` with its alpha put in lane 3. [`math::to_u8`]'s clamps are
/// `pmax`/`pmin` (NaN becomes 0, as there), and its truncation of the
/// rounded value (within 0.5..=255.5) is a `floor` and the 2^23 trick:
/// adding 2^23 to a whole number below it leaves the number in the low
/// mantissa bits, whose low bytes a shuffle gathers. The same bytes as
/// `x as i32 as u8`, without the saturation fix-ups Cranelift emits for
/// `i32x4.trunc_sat_f32x4_s` (this loop over the finished canvas took ~5%
/// of a 1920-px render in the service).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn rgba_u8_simd128(color: &[Color], alpha: &[f32], out: &mut [u8]) {
    use core::arch::wasm32::*;
    let (zero, one) = (f32x4_splat(0.0), f32x4_splat(1.0));
    let (scale, half, magic) = (
        f32x4_splat(255.0),
        f32x4_splat(0.5),
        f32x4_splat(8_388_608.0),
    );
    let pixel = |c: &Color, a: f32| {
        let v = f32x4_replace_lane::<3>(f32x4(c[0], c[1], c[2], c[3]), a);
        // `pmax(0, v)` is `0 < v ? v : 0` and `pmin(1, v)` is
        // `v < 1 ? v : 1`: `to_u8`'s comparisons.
        let v = f32x4_pmin(one, f32x4_pmax(zero, v));
        f32x4_add(f32x4_floor(f32x4_add(f32x4_mul(v, scale), half)), magic)
    };
    let n = color.len().min(alpha.len()).min(out.len() / 4);
    let mut i = 0;
    while i + 4 <= n {
        let (p0, p1) = (
            pixel(&color[i], alpha[i]),
            pixel(&color[i + 1], alpha[i + 1]),
        );
        let (p2, p3) = (
            pixel(&color[i + 2], alpha[i + 2]),
            pixel(&color[i + 3], alpha[i + 3]),
        );
        let lo = i8x16_shuffle::<0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0>(p0, p1);
        let hi = i8x16_shuffle::<0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0>(p2, p3);
        let bytes = i64x2_shuffle::<0, 2>(lo, hi);
        let o = &mut out[i * 4..i * 4 + 16];
        // SAFETY: `o` is 16 bytes; `v128_store` needs no alignment.
        unsafe { v128_store(o.as_mut_ptr() as *mut v128, bytes) };
        i += 4;
    }
    for j in i..n {
        out[j * 4..j * 4 + 4].copy_from_slice(&rgba_u8(&color[j], alpha[j]));
    }
}

enum FromSrgb {
    Rgb,
    RgbIcc(F32Transform),
    LinearRgb(Option<[[f32; 3]; 3]>),
    Gray,
    /// Gray through a gray profile: sRGB-encoded neutral per gray step
    /// (channel 1 of the forward table), increasing.
    GrayTable(GrayInverse),
    LinearGray,
    Lab(LabLanes),
    Cmyk(Box<icc::CmykInverse>),
    CmykNaive,
}

/// A gray profile's rising table of sRGB-encoded neutrals per gray step,
/// with an index for finding a value's place in it.
///
/// Every artwork pixel placed in a gray document is looked up here: a
/// binary search per pixel took half of such a render.
struct GrayInverse {
    /// sRGB-encoded neutral per gray step, non-decreasing.
    table: Vec<f32>,
    /// For bucket `k` of [`GrayInverse::BUCKETS`] over 0..1: the number
    /// of table values below `k / BUCKETS`.
    start: Vec<u32>,
}

impl GrayInverse {
    const BUCKETS: usize = 4096;

    fn new(table: Vec<f32>) -> Self {
        let start = (0..=Self::BUCKETS)
            .map(|k| {
                let edge = k as f32 / Self::BUCKETS as f32;
                table.partition_point(|&v| v < edge) as u32
            })
            .collect();
        GrayInverse { table, start }
    }

    /// The number of table values below `target`: the same answer as
    /// `table.partition_point(|&v| v < target)`, searched only among the
    /// values in `target`'s bucket (`target * BUCKETS` is exact: a power
    /// of two).
    fn position(&self, target: f32) -> usize {
        if target.is_nan() || target <= 0.0 {
            return self.table.partition_point(|&v| v < target);
        }
        let k = (target * Self::BUCKETS as f32) as usize;
        if k >= Self::BUCKETS {
            let lo = self.start[Self::BUCKETS] as usize;
            return lo + self.table[lo..].partition_point(|&v| v < target);
        }
        let (lo, hi) = (self.start[k] as usize, self.start[k + 1] as usize);
        lo + self.table[lo..hi].partition_point(|&v| v < target)
    }
}

/// Converts colours given in sRGB, XYZ or Lab to working lanes of one
/// document (for artwork colours, descriptor colours, overlays). Build once
/// per document: for CMYK documents it samples the profile (a few
/// milliseconds); converting a colour is then cheap.
pub struct WorkingConverter {
    kind: FromSrgb,
    mode: ColorMode,
}

impl WorkingConverter {
    /// Prepares the conversion for a document.
    pub fn new(info: &ColorInfo) -> Self {
        let profile = info.icc_profile.as_deref().and_then(icc::parse);
        let mode = info.mode.unwrap_or(ColorMode::Rgb);
        let linear = info.depth == 32;
        let kind = match mode {
            ColorMode::Rgb | ColorMode::Indexed if linear => FromSrgb::LinearRgb(
                profile
                    .as_ref()
                    .and_then(icc::linear_rgb_matrix)
                    .and_then(|m| math::invert3(&m)),
            ),
            ColorMode::Rgb | ColorMode::Indexed => {
                // Only convert when the forward direction would (profile not
                // sRGB-like), so an sRGB document round-trips exactly.
                let inverse = profile
                    .as_ref()
                    .filter(|p| icc::rgb_transform(p).is_some())
                    .and_then(|p| {
                        ColorProfile::new_srgb()
                            .create_transform_f32(Layout::Rgb, p, Layout::Rgb, icc::options())
                            .ok()
                    });
                match inverse {
                    Some(t) => FromSrgb::RgbIcc(t),
                    None => FromSrgb::Rgb,
                }
            }
            ColorMode::Grayscale | ColorMode::Duotone | ColorMode::Bitmap if linear => {
                FromSrgb::LinearGray
            }
            ColorMode::Grayscale | ColorMode::Duotone => {
                match profile
                    .as_ref()
                    .and_then(|p| icc::gray_table(p, GRAY_STEPS))
                {
                    Some(t) => {
                        FromSrgb::GrayTable(GrayInverse::new(t.iter().map(|v| v[1]).collect()))
                    }
                    None => FromSrgb::Gray,
                }
            }
            ColorMode::Bitmap | ColorMode::Multichannel => FromSrgb::Gray,
            ColorMode::Lab => FromSrgb::Lab(LabLanes::new(info.depth)),
            ColorMode::Cmyk => match profile.as_ref().and_then(icc::CmykInverse::new) {
                Some(inv) => FromSrgb::Cmyk(Box::new(inv)),
                None => FromSrgb::CmykNaive,
            },
        };
        WorkingConverter { kind, mode }
    }

    /// The document's colour mode.
    pub fn mode(&self) -> ColorMode {
        self.mode
    }

    /// sRGB-encoded colour (0..1) to working lanes.
    pub fn srgb_to_lanes(&self, rgb: [f32; 3]) -> Color {
        let rgb = [math::unit(rgb[0]), math::unit(rgb[1]), math::unit(rgb[2])];
        match &self.kind {
            FromSrgb::Rgb => [rgb[0], rgb[1], rgb[2], 0.0],
            FromSrgb::RgbIcc(t) => {
                let mut o = [0.0f32; 3];
                match t.transform(&rgb, &mut o) {
                    Ok(()) => [math::unit(o[0]), math::unit(o[1]), math::unit(o[2]), 0.0],
                    Err(_) => [rgb[0], rgb[1], rgb[2], 0.0],
                }
            }
            FromSrgb::CmykNaive => {
                // Exact inverse of the naive forward `rgb = c' * k'`.
                let k = rgb[0].max(rgb[1]).max(rgb[2]);
                if k <= 0.0 {
                    [0.0, 0.0, 0.0, 0.0]
                } else {
                    [rgb[0] / k, rgb[1] / k, rgb[2] / k, k]
                }
            }
            _ => self.xyz_to_lanes(math::srgb_to_xyz(rgb)),
        }
    }

    /// An RGB colour as Photoshop stores it in a document's descriptors
    /// (fill layers, effects) to working lanes. In an RGB document those
    /// values are the document's own RGB (what the colour picker shows and
    /// what lands in the pixels), so they pass through even when the
    /// profile is not sRGB; in other modes they are taken as sRGB (the
    /// default RGB working space) and converted.
    pub fn document_rgb_to_lanes(&self, rgb: [f32; 3]) -> Color {
        match self.kind {
            FromSrgb::Rgb | FromSrgb::RgbIcc(_) => [
                math::unit(rgb[0]),
                math::unit(rgb[1]),
                math::unit(rgb[2]),
                0.0,
            ],
            _ => self.srgb_to_lanes(rgb),
        }
    }

    /// XYZ (D50, white Y = 1) to working lanes.
    pub fn xyz_to_lanes(&self, xyz: [f32; 3]) -> Color {
        let gray = |g: f32| [g, g, g, 0.0];
        match &self.kind {
            FromSrgb::Rgb | FromSrgb::RgbIcc(_) | FromSrgb::CmykNaive => {
                self.srgb_to_lanes(math::xyz_to_srgb(xyz))
            }
            FromSrgb::LinearRgb(m) => {
                let l = math::mul3(&math::xyz_d50_to_srgb(), xyz);
                let l = match m {
                    Some(m) => math::mul3(m, l),
                    None => l,
                };
                [l[0].max(0.0), l[1].max(0.0), l[2].max(0.0), 0.0]
            }
            FromSrgb::Gray => gray(math::linear_to_srgb(math::unit(xyz[1]))),
            FromSrgb::LinearGray => gray(xyz[1].max(0.0)),
            FromSrgb::GrayTable(inv) => {
                let t = &inv.table;
                let target = math::linear_to_srgb(math::unit(xyz[1]));
                // The table rises with gray; find the bracketing step.
                let i = inv.position(target);
                let g = if i == 0 {
                    0.0
                } else if i >= t.len() {
                    1.0
                } else {
                    let (a, b) = (t[i - 1], t[i]);
                    let f = if b > a { (target - a) / (b - a) } else { 0.0 };
                    ((i - 1) as f32 + f) / GRAY_STEPS as f32
                };
                gray(g.clamp(0.0, 1.0))
            }
            FromSrgb::Lab(lanes) => lanes.to_lanes(math::xyz_to_lab(xyz)),
            FromSrgb::Cmyk(inv) => inv.xyz_to_lanes(xyz),
        }
    }

    /// CIE Lab (D50) to working lanes; exact for Lab documents.
    pub fn lab_to_lanes(&self, lab: [f32; 3]) -> Color {
        match self.kind {
            FromSrgb::Lab(lanes) => lanes.to_lanes(lab),
            _ => self.xyz_to_lanes(math::lab_to_xyz(lab[0], lab[1], lab[2])),
        }
    }

    /// CMYK ink amounts (0..1, 1 = full ink) to working lanes: exact for
    /// CMYK documents; elsewhere through the naive formula (there is no CMYK
    /// profile to go through).
    pub fn cmyk_ink_to_lanes(&self, ink: [f32; 4]) -> Color {
        let s = [
            1.0 - math::unit(ink[0]),
            1.0 - math::unit(ink[1]),
            1.0 - math::unit(ink[2]),
            1.0 - math::unit(ink[3]),
        ];
        if self.mode == ColorMode::Cmyk {
            return s;
        }
        self.srgb_to_lanes([s[0] * s[3], s[1] * s[3], s[2] * s[3]])
    }

    /// Gray level (0 = black, 1 = white) to working lanes: exact for
    /// gray-like documents; elsewhere the sRGB neutral of that level.
    pub fn gray_to_lanes(&self, g: f32) -> Color {
        let g = math::unit(g);
        match self.mode {
            ColorMode::Grayscale
            | ColorMode::Duotone
            | ColorMode::Bitmap
            | ColorMode::Multichannel => [g, g, g, 0.0],
            _ => self.srgb_to_lanes([g, g, g]),
        }
    }
}

#[cfg(test)]
mod tests;
