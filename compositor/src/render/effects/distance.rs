//! Signed distance from the anti-aliased edge of a coverage plane.
//!
//! Exact Euclidean distance transform (Felzenszwalb & Huttenlocher,
//! "Distance Transforms of Sampled Functions", 2012: two passes of a 1-D
//! lower-envelope-of-parabolas transform, O(n) per pixel) on the thresholded
//! shape, refined by each pixel's own coverage so that anti-aliased edges
//! land at sub-pixel positions.

/// Large finite stand-in for "infinitely far" (squared pixels).
const FAR: f32 = 1e20;

/// Signed distance in pixels from the 0.5 iso-line of `alpha`
/// (`width` x `height`, row-major): positive inside (alpha >= 0.5), negative
/// outside. Pixels beyond the plane count as outside. For a straight edge the
/// result is exact at pixel centres: a fully covered pixel touching the edge
/// gives +0.5, the empty pixel across it -0.5, a pixel covered to 0.7 +0.2,
/// and partial coverage of the edge pixel shifts its neighbours' distances
/// too.
pub fn signed_distance(alpha: &[f32], width: usize, height: usize) -> Vec<f32> {
    let n = width * height;
    if alpha.len() != n || n == 0 || n >= NONE as usize {
        return vec![0.0; alpha.len()];
    }
    let inside = |a: f32| a >= 0.5;
    // Nearest inside pixel of every pixel, and nearest outside pixel.
    let near_in = nearest_feature(alpha, width, height, inside);
    let near_out = nearest_feature(alpha, width, height, |a| !inside(a));
    let mut out = vec![0f32; n];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let a = alpha[i].clamp(0.0, 1.0);
            let (near, sign) = if inside(a) {
                (near_out[i], 1.0)
            } else {
                (near_in[i], -1.0)
            };
            let d = match (near != NONE).then_some(near as usize) {
                Some(q) => {
                    let (qx, qy) = (q % width, q / width);
                    let dx = qx as f32 - x as f32;
                    let dy = qy as f32 - y as f32;
                    let len = (dx * dx + dy * dy).sqrt();
                    let qa = alpha[q].clamp(0.0, 1.0);
                    let q_inside = inside(qa);
                    if qa > 0.0 && qa < 1.0 {
                        // The edge crosses the feature pixel itself.
                        len - (qa - 0.5).abs()
                    } else {
                        // Distance to the feature pixel's square, less the
                        // part of the neighbour towards us (if it is a
                        // partially covered edge pixel on our side) that the
                        // shape still covers.
                        let ex = (dx.abs() - 0.5).max(0.0);
                        let ey = (dy.abs() - 0.5).max(0.0);
                        let square = (ex * ex + ey * ey).sqrt();
                        let rx = qx as i64 - (dx / len).round() as i64;
                        let ry = qy as i64 - (dy / len).round() as i64;
                        let ra = if rx >= 0
                            && ry >= 0
                            && (rx as usize) < width
                            && (ry as usize) < height
                        {
                            Some(alpha[ry as usize * width + rx as usize].clamp(0.0, 1.0))
                        } else {
                            None
                        };
                        match ra {
                            Some(ra) if q_inside && !inside(ra) => square - ra,
                            Some(ra) if !q_inside && inside(ra) => square - (1.0 - ra),
                            _ => square,
                        }
                    }
                }
                None => FAR.sqrt(),
            };
            let mut v = d;
            if inside(a) {
                // The plane's border is an edge too (outside beyond it).
                let border = x.min(y).min(width - 1 - x).min(height - 1 - y) as f32 + 1.0;
                v = v.min(border - 0.5);
            }
            // A partially covered pixel next to the edge knows the edge's
            // position from its own coverage.
            if a > 0.0 && a < 1.0 && v <= 1.0 {
                v = (a - 0.5).abs();
            }
            out[i] = sign * v;
        }
    }
    out
}

/// "No feature" marker in [`nearest_feature`]'s output.
const NONE: u32 = u32::MAX;

/// For every pixel, the index of the nearest pixel (Euclidean, centre to
/// centre) whose alpha satisfies `is_feature`, or [`NONE`] when there is
/// none. Planes are bounded by the layer-size limit, far below `u32::MAX`
/// pixels.
fn nearest_feature(
    alpha: &[f32],
    width: usize,
    height: usize,
    is_feature: impl Fn(f32) -> bool,
) -> Vec<u32> {
    let n = width * height;
    let len = width.max(height);
    let mut f = vec![0f32; n];
    let mut arg_x = vec![0u32; n];
    let mut buf = vec![0f32; len];
    let mut out = vec![0f32; len];
    let mut arg = vec![0usize; len];
    let mut v = vec![0usize; len];
    let mut z = vec![0f32; len + 1];
    for y in 0..height {
        let row = &alpha[y * width..(y + 1) * width];
        for (b, &a) in buf.iter_mut().zip(row) {
            *b = if is_feature(a) { 0.0 } else { FAR };
        }
        edt_1d(
            &buf[..width],
            &mut out[..width],
            &mut arg[..width],
            &mut v,
            &mut z,
        );
        f[y * width..(y + 1) * width].copy_from_slice(&out[..width]);
        for (ax, &g) in arg_x[y * width..(y + 1) * width]
            .iter_mut()
            .zip(&arg[..width])
        {
            *ax = g as u32;
        }
    }
    let mut result = vec![NONE; n];
    for x in 0..width {
        for y in 0..height {
            buf[y] = f[y * width + x];
        }
        edt_1d(
            &buf[..height],
            &mut out[..height],
            &mut arg[..height],
            &mut v,
            &mut z,
        );
        for y in 0..height {
            if out[y] < FAR {
                let qy = arg[y];
                result[y * width + x] = (qy * width + arg_x[qy * width + x] as usize) as u32;
            }
        }
    }
    result
}

/// 1-D squared distance transform of `f` into `d` (lower envelope of the
/// parabolas rooted at each sample), with the winning sample of each output
/// in `arg`. Samples at [`FAR`] are not features. `v`, `z` are scratch.
fn edt_1d(f: &[f32], d: &mut [f32], arg: &mut [usize], v: &mut [usize], z: &mut [f32]) {
    let n = f.len();
    let Some(first) = f.iter().position(|&x| x < FAR) else {
        d.iter_mut().for_each(|x| *x = FAR);
        arg.iter_mut().for_each(|x| *x = 0);
        return;
    };
    let mut k = 0usize;
    v[0] = first;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    for q in first + 1..n {
        if f[q] >= FAR {
            continue;
        }
        loop {
            let p = v[k];
            let s = ((f[q] + (q * q) as f32) - (f[p] + (p * p) as f32)) / (2.0 * (q - p) as f32);
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                v[0] = q;
                z[1] = f32::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f32::INFINITY;
            break;
        }
    }
    k = 0;
    for q in 0..n {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k];
        let dx = q as f32 - p as f32;
        d[q] = dx * dx + f[p];
        arg[q] = p;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(alpha: &[f32], w: usize, h: usize, x: usize, y: usize, inside: bool) -> f32 {
        let mut best = f32::MAX;
        for yy in 0..h {
            for xx in 0..w {
                if (alpha[yy * w + xx] >= 0.5) == inside {
                    // Distance to the pixel's square.
                    let dx = ((xx as f32 - x as f32).abs() - 0.5).max(0.0);
                    let dy = ((yy as f32 - y as f32).abs() - 0.5).max(0.0);
                    best = best.min((dx * dx + dy * dy).sqrt());
                }
            }
        }
        best
    }

    #[test]
    fn matches_brute_force_on_a_blob() {
        let (w, h) = (23, 17);
        let mut a = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let dx = x as f32 - 9.0;
                let dy = y as f32 - 8.0;
                if dx * dx * 0.5 + dy * dy < 20.0 || (x == 18 && y > 3 && y < 12) {
                    a[y * w + x] = 1.0;
                }
            }
        }
        let sd = signed_distance(&a, w, h);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if a[i] < 0.5 {
                    let expect = -brute(&a, w, h, x, y, true);
                    // The nearest centre need not own the nearest square:
                    // a known approximation of up to a quarter pixel.
                    assert!(
                        (sd[i] - expect).abs() < 0.25,
                        "({x},{y}) {} vs {expect}",
                        sd[i]
                    );
                } else {
                    let border = x.min(y).min(w - 1 - x).min(h - 1 - y) as f32 + 0.5;
                    let expect = brute(&a, w, h, x, y, false).min(border);
                    assert!(
                        (sd[i] - expect).abs() < 0.25,
                        "({x},{y}) {} vs {expect}",
                        sd[i]
                    );
                }
            }
        }
    }

    #[test]
    fn straight_edges_are_exact() {
        // Columns 0..5 full, column 5 at 0.7, the rest empty.
        let (w, h) = (12, 15);
        let mut a = vec![0f32; w * h];
        for y in 0..h {
            for x in 0..5 {
                a[y * w + x] = 1.0;
            }
            a[y * w + 5] = 0.7;
        }
        let sd = signed_distance(&a, w, h);
        // Edge at x = 5.7 (in pixel-edge coordinates), centre of column c at c + 0.5.
        for c in 3..w {
            let expect = 5.7 - (c as f32 + 0.5);
            let got = sd[7 * w + c];
            assert!((got - expect).abs() < 1e-5, "col {c}: {got}");
        }
    }
}
