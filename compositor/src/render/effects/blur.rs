//! Fast Gaussian blur of single-channel `f32` planes.
//!
//! The blur is three passes of an *extended box filter* per axis
//! (Gwosdek, Grewenig, Bruhn, Weickert: "Theoretical foundations of Gaussian
//! convolution by extended box filtering", SSVM 2011). An extended box of
//! radius `r` adds the two taps at `±(r + 1)` with a fractional weight
//! `alpha`, so that its variance can be tuned continuously; three passes with
//! variance `sigma² / 3` each give exactly variance `sigma²` and a kernel that
//! is within about 3% of the Gaussian's peak everywhere. Each pass costs a
//! constant number of operations per pixel whatever the radius: the box sum
//! is kept as a running sum.
//!
//! Pixels outside the plane count as 0 (the planes are coverage masks that
//! fade to nothing), so total mass is preserved as long as the plane is large
//! enough to hold the spread-out result.

/// Number of box passes per axis.
const PASSES: usize = 3;

/// One extended box: integer radius and fractional weight of the two end
/// taps, normalised by `norm`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ExtBox {
    r: usize,
    alpha: f64,
    norm: f64,
}

impl ExtBox {
    /// The extended box whose variance is `var`.
    fn with_variance(var: f64) -> ExtBox {
        // Largest integer radius whose plain box does not exceed `var`:
        // a plain box of radius r has variance r (r + 1) / 3.
        let r = ((0.25 + 3.0 * var).sqrt() - 0.5).floor().max(0.0);
        let width = 2.0 * r + 1.0;
        // Fraction of the outer taps that adds the missing variance.
        let alpha = (width * (var - r * (r + 1.0) / 3.0) / ((r + 1.0) * (r + 1.0) - var) / 2.0)
            .clamp(0.0, 1.0);
        ExtBox {
            r: r as usize,
            alpha,
            norm: 1.0 / (width + 2.0 * alpha),
        }
    }

    /// How far one pass spreads a value.
    fn reach(&self) -> usize {
        self.r + usize::from(self.alpha > 0.0)
    }
}

/// How far (in pixels) a blur of standard deviation `sigma` spreads a value:
/// values this far beyond a shape's edge are exactly 0.
pub fn reach(sigma: f32) -> u32 {
    // NaN and non-positive sigmas mean no blur.
    if sigma.is_nan() || sigma <= 0.0 {
        return 0;
    }
    let b = ExtBox::with_variance((sigma as f64).powi(2) / PASSES as f64);
    (b.reach() * PASSES).min(u32::MAX as usize) as u32
}

/// Blurs a `width` x `height` row-major plane in place with a Gaussian of
/// standard deviation `sigma` pixels (approximated, see the module docs).
/// `sigma <= 0` (or NaN) leaves the plane unchanged. A `data` length other
/// than `width * height` is a caller bug; the plane is then left unchanged.
pub fn gaussian_blur(data: &mut [f32], width: usize, height: usize, sigma: f32) {
    if sigma.is_nan() || sigma <= 0.0 || width == 0 || height == 0 || data.len() != width * height {
        return;
    }
    let b = ExtBox::with_variance((sigma as f64).powi(2) / PASSES as f64);
    if b.r == 0 && b.alpha <= 0.0 {
        return;
    }
    let mut line = vec![0f32; width.max(height)];
    for row in data.chunks_exact_mut(width) {
        for _ in 0..PASSES {
            box_line(row, &mut line[..width], b);
        }
    }
    let mut tmp = vec![0f32; data.len()];
    let mut sums = vec![0f64; width];
    for _ in 0..PASSES {
        box_columns(data, &mut tmp, &mut sums, width, height, b);
        data.copy_from_slice(&tmp);
    }
}

/// One extended-box pass over a row; `tmp` is scratch of the same length.
fn box_line(row: &mut [f32], tmp: &mut [f32], b: ExtBox) {
    let n = row.len() as isize;
    let r = b.r as isize;
    let at = |i: isize| -> f64 {
        if i >= 0 && i < n {
            row[i as usize] as f64
        } else {
            0.0
        }
    };
    // Running sum of row[i - r ..= i + r].
    let mut sum = 0.0f64;
    for i in -r..=r {
        sum += at(i);
    }
    for i in 0..n {
        let edge = at(i - r - 1) + at(i + r + 1);
        tmp[i as usize] = ((sum + b.alpha * edge) * b.norm) as f32;
        sum += at(i + r + 1) - at(i - r);
    }
    row.copy_from_slice(tmp);
}

/// One extended-box pass down every column at once, row by row, so memory is
/// read sequentially and the inner loops vectorise.
fn box_columns(
    src: &[f32],
    dst: &mut [f32],
    sums: &mut [f64],
    width: usize,
    height: usize,
    b: ExtBox,
) {
    let r = b.r as isize;
    let h = height as isize;
    let row = |y: isize| -> Option<&[f32]> {
        if y >= 0 && y < h {
            let s = y as usize * width;
            Some(&src[s..s + width])
        } else {
            None
        }
    };
    sums.iter_mut().for_each(|s| *s = 0.0);
    for y in -r..=r {
        if let Some(rw) = row(y) {
            for (s, &v) in sums.iter_mut().zip(rw) {
                *s += v as f64;
            }
        }
    }
    for y in 0..h {
        let out = &mut dst[y as usize * width..(y as usize + 1) * width];
        let above = row(y - r - 1);
        let below = row(y + r + 1);
        match (above, below) {
            (Some(a), Some(c)) => {
                for (((o, &s), &va), &vc) in out.iter_mut().zip(sums.iter()).zip(a).zip(c) {
                    *o = ((s + b.alpha * (va as f64 + vc as f64)) * b.norm) as f32;
                }
            }
            (Some(e), None) | (None, Some(e)) => {
                for ((o, &s), &ve) in out.iter_mut().zip(sums.iter()).zip(e) {
                    *o = ((s + b.alpha * ve as f64) * b.norm) as f32;
                }
            }
            (None, None) => {
                for (o, &s) in out.iter_mut().zip(sums.iter()) {
                    *o = (s * b.norm) as f32;
                }
            }
        }
        if let Some(c) = below {
            for (s, &v) in sums.iter_mut().zip(c) {
                *s += v as f64;
            }
        }
        if let Some(a) = row(y - r) {
            for (s, &v) in sums.iter_mut().zip(a) {
                *s -= v as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_box_has_the_requested_variance() {
        for var in [0.3, 1.0, 2.7, 10.0, 33.3] {
            let b = ExtBox::with_variance(var);
            // Variance of the discrete kernel, computed from its taps.
            let mut v = 0.0;
            for i in -(b.r as i64)..=b.r as i64 {
                v += (i * i) as f64 * b.norm;
            }
            let e = (b.r + 1) as f64;
            v += 2.0 * e * e * b.alpha * b.norm;
            assert!((v - var).abs() < 1e-9, "var {var}: got {v}");
        }
    }

    #[test]
    fn blur_preserves_mass() {
        let (w, h) = (64, 48);
        let mut d = vec![0f32; w * h];
        for y in 20..28 {
            for x in 28..36 {
                d[y * w + x] = 1.0;
            }
        }
        gaussian_blur(&mut d, w, h, 3.0);
        let total: f32 = d.iter().sum();
        assert!((total - 64.0).abs() < 1e-3, "{total}");
    }

    #[test]
    fn impulse_response_matches_a_gaussian() {
        let (w, h) = (81, 81);
        let sigma = 5.0f32;
        let mut d = vec![0f32; w * h];
        d[40 * w + 40] = 1.0;
        gaussian_blur(&mut d, w, h, sigma);
        let s2 = (sigma * sigma) as f64;
        let norm = 1.0 / (2.0 * std::f64::consts::PI * s2);
        let peak = norm;
        let mut max_err = 0.0f64;
        let mut m2 = 0.0f64;
        for y in 0..h {
            for x in 0..w {
                let dx = x as f64 - 40.0;
                let dy = y as f64 - 40.0;
                let g = norm * (-(dx * dx + dy * dy) / (2.0 * s2)).exp();
                max_err = max_err.max((d[y * w + x] as f64 - g).abs());
                m2 += d[y * w + x] as f64 * dx * dx;
            }
        }
        // A product of two three-box kernels: within 12% of the peak (each
        // axis is 5.7% low at the centre, the known cost of three boxes),
        // and exactly the right variance.
        assert!(max_err < 0.12 * peak, "max error {max_err} vs peak {peak}");
        assert!((m2 - s2).abs() < 1e-3, "variance {m2}");
    }

    #[test]
    fn edge_response_matches_the_gaussian_within_one_percent() {
        // What shadows and glows see: a blurred straight edge, compared with
        // the Gaussian's error-function profile (erf by numeric integration).
        for sigma in [1.5f32, 4.0, 11.0] {
            // Tall enough that the middle row does not see the top and
            // bottom (zero) borders.
            let (w, h) = (201, 81);
            let mut d: Vec<f32> = (0..w * h)
                .map(|i| if i % w < 100 { 1.0 } else { 0.0 })
                .collect();
            gaussian_blur(&mut d, w, h, sigma);
            let mid = &d[40 * w..41 * w];
            for (x, &v) in mid.iter().enumerate().take(170).skip(50) {
                // Fraction of a unit Gaussian centred on pixel x lying left of
                // the edge at 100.0 (pixel centres at x + 0.5).
                let t = (100.0 - (x as f64 + 0.5)) / sigma as f64;
                let mut acc = 0.0;
                let steps = 4000;
                for i in 0..steps {
                    let u = -8.0 + (t + 8.0) * (i as f64 + 0.5) / steps as f64;
                    acc += (-u * u / 2.0).exp();
                }
                let expect = acc * (t + 8.0) / steps as f64 / (2.0 * std::f64::consts::PI).sqrt();
                assert!(
                    (v as f64 - expect).abs() < 0.015,
                    "sigma {sigma} x {x}: {v} vs {expect}"
                );
            }
        }
    }

    #[test]
    fn reach_bounds_the_support() {
        let (w, h) = (101, 1);
        let mut d = vec![0f32; w * h];
        d[50] = 1.0;
        gaussian_blur(&mut d, w, h, 4.0);
        let reach = reach(4.0) as usize;
        assert!(d[50 + reach] > 0.0);
        assert_eq!(d[50 + reach + 1], 0.0);
        assert_eq!(d[50 - reach - 1], 0.0);
    }
}
