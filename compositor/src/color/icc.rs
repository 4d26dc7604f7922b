//! Conversions that go through an embedded ICC profile (via `moxcms`).
//!
//! Rendering intent: Photoshop's default colour settings (all the stock
//! "General Purpose" / "Prepress" presets) convert with *Relative
//! Colorimetric* and *Black Point Compensation* on, and its display path uses
//! the same intent. `moxcms` has no black point compensation for CMYK
//! profiles, so for CMYK we ask it only for the media-relative PCS values
//! (relative colorimetric, into XYZ) and apply Adobe-style BPC and the XYZ to
//! sRGB step ourselves.

use std::sync::Arc;

use moxcms::{
    ColorProfile, DataColorSpace, Layout, RenderingIntent, ToneReprCurve, TransformExecutor,
    TransformOptions, Xyzd,
};

use super::math::{self, D50};

/// Relative colorimetric options for every transform we build.
pub(crate) fn options() -> TransformOptions {
    TransformOptions {
        rendering_intent: RenderingIntent::RelativeColorimetric,
        ..TransformOptions::default()
    }
}

type F32Transform = Arc<dyn TransformExecutor<f32> + Send + Sync>;

/// Parses an embedded profile; `None` for anything moxcms refuses.
pub(crate) fn parse(icc: &[u8]) -> Option<ColorProfile> {
    ColorProfile::new_from_slice(icc).ok()
}

/// A linear "RGB" profile whose colorants are the XYZ axes, so its device
/// values *are* PCS XYZ (D50). It lets moxcms hand us PCS values, and take
/// them, through its ordinary RGB entry points.
pub(crate) fn xyz_identity_profile() -> ColorProfile {
    let mut p = ColorProfile::new_srgb();
    p.red_colorant = Xyzd {
        x: 1.0,
        y: 0.0,
        z: 0.0,
    };
    p.green_colorant = Xyzd {
        x: 0.0,
        y: 1.0,
        z: 0.0,
    };
    p.blue_colorant = Xyzd {
        x: 0.0,
        y: 0.0,
        z: 1.0,
    };
    let linear = ToneReprCurve::Parametric(vec![1.0]);
    p.red_trc = Some(linear.clone());
    p.green_trc = Some(linear.clone());
    p.blue_trc = Some(linear);
    p.cicp = None;
    p
}

/// An RGB profile to sRGB transform, or `None` when the profile is sRGB in
/// all but name (then the caller passes values through untouched).
///
/// "sRGB-like" is decided by behaviour, not by the description: if the
/// transform moves no colour of a 17-step grid by more than 1/255, it is
/// treated as identity. That covers the many renamed copies of sRGB and
/// Photoshop's own "sRGB IEC61966-2.1" (whose sampled curve and rounded
/// colorants differ from the exact definition by up to 0.6/255 here), which
/// Photoshop itself treats as plain sRGB.
pub(crate) fn rgb_transform(profile: &ColorProfile) -> Option<F32Transform> {
    if profile.color_space != DataColorSpace::Rgb {
        return None;
    }
    let t = profile
        .create_transform_f32(
            Layout::Rgb,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            options(),
        )
        .ok()?;
    const N: usize = 17;
    let mut src = Vec::with_capacity(N * N * N * 3);
    for r in 0..N {
        for g in 0..N {
            for b in 0..N {
                src.extend_from_slice(&[
                    r as f32 / (N - 1) as f32,
                    g as f32 / (N - 1) as f32,
                    b as f32 / (N - 1) as f32,
                ]);
            }
        }
    }
    let mut dst = vec![0.0f32; src.len()];
    t.transform(&src, &mut dst).ok()?;
    let max_dev = src
        .iter()
        .zip(&dst)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    if max_dev <= 1.0 / 255.0 {
        None
    } else {
        Some(t)
    }
}

/// Runs an RGB transform over interleaved triples in place, in batches.
pub(crate) fn run_rgb(t: &F32Transform, rgb: &mut [f32]) -> bool {
    const BATCH: usize = 1024 * 3;
    let mut out = [0.0f32; BATCH];
    for chunk in rgb.chunks_mut(BATCH) {
        let o = &mut out[..chunk.len()];
        if t.transform(chunk, o).is_err() {
            return false;
        }
        chunk.copy_from_slice(o);
    }
    true
}

/// Matrix from the linear primaries of an RGB profile to linear sRGB, for
/// 32-bit (scene-linear) documents: Photoshop keeps such documents linear
/// whatever the profile's curves say, so only the colorants matter. `None`
/// when the primaries are sRGB's (within 1e-3).
pub(crate) fn linear_rgb_matrix(profile: &ColorProfile) -> Option<[[f32; 3]; 3]> {
    if profile.color_space != DataColorSpace::Rgb || !profile.is_matrix_shaper() {
        return None;
    }
    let m = profile.transform_matrix(&ColorProfile::new_srgb());
    let mut out = [[0.0f32; 3]; 3];
    let mut dev = 0.0f64;
    for (r, (row_out, row)) in out.iter_mut().zip(&m.v).enumerate() {
        for (c, (o, &v)) in row_out.iter_mut().zip(row).enumerate() {
            if !v.is_finite() {
                return None;
            }
            *o = v as f32;
            dev = dev.max((v - if r == c { 1.0 } else { 0.0 }).abs());
        }
    }
    if dev < 1e-3 {
        None
    } else {
        Some(out)
    }
}

/// Samples of a gray profile's gray to sRGB conversion at `n + 1` evenly
/// spaced gray values, as sRGB-encoded triples.
pub(crate) fn gray_table(profile: &ColorProfile, n: usize) -> Option<Vec<[f32; 3]>> {
    if profile.color_space != DataColorSpace::Gray || profile.gray_trc.is_none() {
        return None;
    }
    let t = profile
        .create_transform_f32(
            Layout::Gray,
            &ColorProfile::new_srgb(),
            Layout::Rgb,
            options(),
        )
        .ok()?;
    let src: Vec<f32> = (0..=n).map(|i| i as f32 / n as f32).collect();
    let mut dst = vec![0.0f32; src.len() * 3];
    t.transform(&src, &mut dst).ok()?;
    Some(
        dst.chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
            .collect::<Vec<_>>(),
    )
}

/// Grid points per axis of the CMYK lookup table. moxcms samples CMYK
/// profiles on a 17-point grid, so nodes here coincide with its nodes and
/// carry no extra interpolation error.
pub(crate) const CMYK_GRID: usize = 17;

/// Black point compensation parameter: the source black point as a
/// fraction of the white (Y).
///
/// Adobe's BPC takes the darkest black the device really prints: Lab black
/// sent through the profile's perceptual output table (which honours the
/// total ink limit, e.g. about 75/68/67/90 for SWOP) and read back with the
/// relative colorimetric input table; the result is forced neutral and
/// capped at L* 50. Destination (sRGB) black is 0, so compensation is
/// `XYZ' = (XYZ - t*W) / (1 - t)`. With this, SWOP 100% K maps to L* 12.3,
/// the #231F20 Photoshop shows for it.
fn detect_black_point(profile: &ColorProfile, to_xyz: &F32Transform) -> Option<f32> {
    let perceptual = TransformOptions {
        rendering_intent: RenderingIntent::Perceptual,
        ..TransformOptions::default()
    };
    let to_ink = xyz_identity_profile()
        .create_transform_f32(Layout::Rgb, profile, Layout::Rgba, perceptual)
        .ok()?;
    let mut ink = [0.0f32; 4];
    to_ink.transform(&[0.0, 0.0, 0.0], &mut ink).ok()?;
    let mut xyz = [0.0f32; 3];
    to_xyz.transform(&ink, &mut xyz).ok()?;
    xyz[1].is_finite().then(|| black_point_y(xyz))
}

fn black_point_y(full_ink_xyz: [f32; 3]) -> f32 {
    let y = full_ink_xyz[1].clamp(0.0, 1.0);
    // L* 50 is Y 0.1842.
    y.min(0.184_187_3)
}

/// CMYK stored values to sRGB: a 17^4 table built once from the profile,
/// interpolated per pixel (tetrahedral in C, M, Y; linear in K).
pub(crate) struct CmykTable {
    /// sRGB-encoded output per node; node index
    /// `((k * G + c) * G + m) * G + y` over *stored* values (1 = no ink).
    nodes: Vec<[f32; 4]>,
    /// Black point compensation parameter (see [`black_point_y`]).
    black_y: f32,
}

impl CmykTable {
    /// Builds the table, or `None` when the profile is not a usable CMYK
    /// profile.
    pub(crate) fn new(profile: &ColorProfile) -> Option<Self> {
        if profile.color_space != DataColorSpace::Cmyk {
            return None;
        }
        let t = profile
            .create_transform_f32(
                Layout::Rgba,
                &xyz_identity_profile(),
                Layout::Rgb,
                options(),
            )
            .ok()?;
        const G: usize = CMYK_GRID;
        let step = 1.0 / (G - 1) as f32;
        let count = G * G * G * G;
        let mut inks = Vec::with_capacity(count * 4);
        for k in 0..G {
            for c in 0..G {
                for m in 0..G {
                    for y in 0..G {
                        // Stored value s = i * step means ink 1 - s.
                        inks.extend_from_slice(&[
                            1.0 - c as f32 * step,
                            1.0 - m as f32 * step,
                            1.0 - y as f32 * step,
                            1.0 - k as f32 * step,
                        ]);
                    }
                }
            }
        }
        let mut xyz = vec![0.0f32; count * 3];
        t.transform(&inks, &mut xyz).ok()?;
        // Fallback black: node 0 is stored (0,0,0,0), all inks at 100%.
        let bp = detect_black_point(profile, &t)
            .unwrap_or_else(|| black_point_y([xyz[0], xyz[1], xyz[2]]));
        let to_srgb = math::xyz_d50_to_srgb();
        let nodes = xyz
            .chunks_exact(3)
            .map(|v| {
                let mut p = [0.0f32; 3];
                for i in 0..3 {
                    p[i] = (v[i] - bp * D50[i]) / (1.0 - bp);
                }
                let l = math::mul3(&to_srgb, p);
                // Padded to four lanes so corner loads and the blend below
                // are whole-vector operations.
                [
                    math::linear_to_srgb(l[0].clamp(0.0, 1.0)),
                    math::linear_to_srgb(l[1].clamp(0.0, 1.0)),
                    math::linear_to_srgb(l[2].clamp(0.0, 1.0)),
                    0.0,
                ]
            })
            .collect();
        Some(CmykTable { nodes, black_y: bp })
    }

    /// Interpolates the sRGB-encoded colour of stored CMYK lanes.
    #[inline]
    pub(crate) fn eval(&self, s: &[f32; 4]) -> [f32; 3] {
        const G: usize = CMYK_GRID;
        const N: f32 = (CMYK_GRID - 1) as f32;
        #[inline(always)]
        fn split(v: f32) -> (usize, f32) {
            let x = math::unit(v) * N;
            let i = (x as usize).min(CMYK_GRID - 2);
            (i, x - i as f32)
        }
        let (ic, fc) = split(s[0]);
        let (im, fm) = split(s[1]);
        let (iy, fy) = split(s[2]);
        let (ik, fk) = split(s[3]);
        const SY: usize = 1;
        const SM: usize = CMYK_GRID;
        const SC: usize = CMYK_GRID * CMYK_GRID;
        const SK: usize = CMYK_GRID * CMYK_GRID * CMYK_GRID;
        // Order the three CMY axes by fraction, largest first; the walk
        // from the base corner along them picks the enclosing tetrahedron.
        let ((f1, s1), (f2, s2), (f3, s3)) = if fc >= fm {
            if fm >= fy {
                ((fc, SC), (fm, SM), (fy, SY))
            } else if fc >= fy {
                ((fc, SC), (fy, SY), (fm, SM))
            } else {
                ((fy, SY), (fc, SC), (fm, SM))
            }
        } else if fc >= fy {
            ((fm, SM), (fc, SC), (fy, SY))
        } else if fm >= fy {
            ((fm, SM), (fy, SY), (fc, SC))
        } else {
            ((fy, SY), (fm, SM), (fc, SC))
        };
        let base = ((ik * G + ic) * G + im) * G + iy;
        let tetra = |b: usize| -> [f32; 4] {
            let n = &self.nodes;
            let (c0, c1, c2, c3) = (n[b], n[b + s1], n[b + s1 + s2], n[b + s1 + s2 + s3]);
            let mut o = [0.0f32; 4];
            for i in 0..4 {
                o[i] = c0[i] + f1 * (c1[i] - c0[i]) + f2 * (c2[i] - c1[i]) + f3 * (c3[i] - c2[i]);
            }
            o
        };
        let lo = tetra(base);
        let hi = tetra(base + SK);
        [
            lo[0] + fk * (hi[0] - lo[0]),
            lo[1] + fk * (hi[1] - lo[1]),
            lo[2] + fk * (hi[2] - lo[2]),
        ]
    }
}

/// The sRGB/XYZ to CMYK direction: the profile's output tables (relative
/// colorimetric, BPC undone) give a starting separation with the profile's
/// own black generation; a few Newton steps on C, M, Y (K kept) then make it
/// reproduce the target through [`CmykTable`] exactly where the gamut
/// allows, so colours round-trip through the forward conversion.
pub(crate) struct CmykInverse {
    to_cmyk: F32Transform,
    table: CmykTable,
}

impl CmykInverse {
    pub(crate) fn new(profile: &ColorProfile) -> Option<Self> {
        let table = CmykTable::new(profile)?;
        let to_cmyk = xyz_identity_profile()
            .create_transform_f32(Layout::Rgb, profile, Layout::Rgba, options())
            .ok()?;
        Some(CmykInverse { to_cmyk, table })
    }

    /// XYZ (D50) to stored CMYK lanes.
    pub(crate) fn xyz_to_lanes(&self, xyz: [f32; 3]) -> [f32; 4] {
        let bp = self.table.black_y;
        // Undo the compensation the forward direction applies.
        let mut rel = [0.0f32; 3];
        for i in 0..3 {
            rel[i] = (xyz[i] * (1.0 - bp) + bp * D50[i]).clamp(0.0, 1.0);
        }
        let mut ink = [0.0f32; 4];
        let start = match self.to_cmyk.transform(&rel, &mut ink) {
            Ok(()) if ink.iter().all(|v| v.is_finite()) => [
                1.0 - ink[0].clamp(0.0, 1.0),
                1.0 - ink[1].clamp(0.0, 1.0),
                1.0 - ink[2].clamp(0.0, 1.0),
                1.0 - ink[3].clamp(0.0, 1.0),
            ],
            _ => [1.0, 1.0, 1.0, 1.0],
        };
        self.table.refine(math::xyz_to_srgb(xyz), start)
    }
}

impl CmykTable {
    /// Adjusts C, M, Y of `s` (stored values) so the table output matches
    /// `target` (sRGB-encoded); K stays as the profile separated it.
    fn refine(&self, target: [f32; 3], mut s: [f32; 4]) -> [f32; 4] {
        const H: f32 = 1.0 / 512.0;
        for _ in 0..8 {
            let f = self.eval(&s);
            let err = [target[0] - f[0], target[1] - f[1], target[2] - f[2]];
            if err.iter().all(|e| e.abs() < 0.1 / 255.0) {
                break;
            }
            // Jacobian by one-sided differences, stepping away from the
            // nearer bound so the probe stays inside 0..1.
            let mut j = [[0.0f32; 3]; 3];
            for a in 0..3 {
                let h = if s[a] > 0.5 { -H } else { H };
                let mut p = s;
                p[a] += h;
                let fp = self.eval(&p);
                for r in 0..3 {
                    j[r][a] = (fp[r] - f[r]) / h;
                }
            }
            let Some(inv) = math::invert3(&j) else { break };
            let d = math::mul3(&inv, err);
            for a in 0..3 {
                if d[a].is_finite() {
                    s[a] = (s[a] + d[a]).clamp(0.0, 1.0);
                }
            }
        }
        s
    }
}
