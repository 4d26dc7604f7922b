//! Tests of the colour module against independently known values.

use super::*;
use crate::psd::descriptor::{Descriptor, Value};

fn info(mode: ColorMode, depth: u8, icc: Option<Vec<u8>>) -> ColorInfo {
    ColorInfo {
        mode: Some(mode),
        depth,
        icc_profile: icc,
        ..Default::default()
    }
}

fn px(info: &ColorInfo, c: Color) -> [u8; 3] {
    let o = to_rgba8(info, &[c], &[1.0]);
    [o[0], o[1], o[2]]
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (a[i] as i32 - b[i] as i32).abs() <= tol)
}

/// Finds image resource `id` in a PSD/PSB file: 26-byte header, u32
/// colour-mode data length + data, u32 resources length, then blocks
/// `8BIM`, id u16, Pascal name padded to even, u32 size, data padded to even.
fn resource(file: &[u8], id: u16) -> Option<Vec<u8>> {
    let u32_at = |p: usize| -> Option<usize> {
        Some(u32::from_be_bytes(file.get(p..p + 4)?.try_into().ok()?) as usize)
    };
    let mut p = 26;
    p += 4 + u32_at(p)?;
    let len = u32_at(p)?;
    p += 4;
    let end = p.checked_add(len)?;
    while p + 12 <= end {
        if file.get(p..p + 4)? != b"8BIM" {
            return None;
        }
        let rid = u16::from_be_bytes(file.get(p + 4..p + 6)?.try_into().ok()?);
        let name_len = *file.get(p + 6)? as usize;
        let mut q = p + 6 + 1 + name_len;
        q += q % 2 - (p % 2); // pad the Pascal string (with its length byte) to even
        let size = u32_at(q)?;
        let data = file.get(q + 4..q + 4 + size)?;
        if rid == id {
            return Some(data.to_vec());
        }
        p = q + 4 + size + size % 2;
    }
    None
}

/// The embedded ICC profile of a fixture, or `None` (with a note) when the
/// fixture is absent.
fn fixture_profile(path: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let icc = resource(&bytes, 1039);
            assert!(icc.is_some(), "{path} has no ICC profile resource");
            icc
        }
        Err(_) => {
            eprintln!("note: fixture {path} missing, skipping");
            None
        }
    }
}

#[test]
fn srgb_identity_is_exact() {
    let i = info(ColorMode::Rgb, 8, None);
    let color: Vec<Color> = (0..256)
        .map(|v| {
            let f = v as f32 / 255.0;
            [f, 1.0 - f, f * 0.5, 0.0]
        })
        .collect();
    let alpha: Vec<f32> = (0..256).map(|v| v as f32 / 255.0).collect();
    let out = to_rgba8(&i, &color, &alpha);
    for v in 0..256usize {
        assert_eq!(out[v * 4], v as u8);
        assert_eq!(out[v * 4 + 1], 255 - v as u8);
        // 0.5 * v / 255 * 255 = v / 2, rounded half up.
        assert_eq!(out[v * 4 + 2], ((v as f32 / 2.0) + 0.5) as u8);
        assert_eq!(out[v * 4 + 3], v as u8);
    }
    // Out-of-range values clamp; NaN becomes 0.
    assert_eq!(px(&i, [1.5, -0.2, f32::NAN, 0.0]), [255, 0, 0]);
}

#[test]
fn srgb_profile_counts_as_identity() {
    let srgb = moxcms::ColorProfile::new_srgb().encode().unwrap();
    let conv = SrgbConverter::new(&info(ColorMode::Rgb, 8, Some(srgb)));
    assert!(conv.is_identity());
}

#[test]
fn photoshop_srgb_profile_is_identity() {
    // The 3144-byte "sRGB IEC61966-2.1" profile Photoshop embeds (with a
    // sampled TRC) must take the exact pass-through path.
    if let Some(icc) = fixture_profile("../../shared/fixtures/psd/ag-psd/indexed.psd") {
        assert_eq!(icc.len(), 3144);
        assert!(SrgbConverter::new(&info(ColorMode::Rgb, 8, Some(icc))).is_identity());
    }
}

#[test]
fn adobe_rgb_is_converted() {
    let adobe = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
    let i = info(ColorMode::Rgb, 8, Some(adobe));
    assert!(!SrgbConverter::new(&i).is_identity());
    // Adobe RGB shares sRGB's red and blue primaries and white.
    assert!(close(px(&i, [1.0, 0.0, 0.0, 0.0]), [255, 0, 0], 1));
    assert!(close(px(&i, [0.0, 0.0, 1.0, 0.0]), [0, 0, 255], 1));
    // Gray 0.5 with gamma 563/256: Y = 0.5^2.1992 = 0.2177, sRGB 0.5039.
    assert!(close(px(&i, [0.5, 0.5, 0.5, 0.0]), [128, 128, 128], 1));
    // Its green is wider than sRGB's. Adobe to sRGB (linear) is
    // [[1.39835, -0.39835, 0], [0, 1, 0], [0, -0.04293, 1.04293]]: Adobe
    // (0.5, 1, 0.5) has linear 0.21764 in red and blue, giving sRGB red
    // 1.39835*0.21764 - 0.39835 < 0 -> 0, and blue
    // -0.04293 + 1.04293*0.21764 = 0.18405 -> 0.4662 -> 119.
    let g = px(&i, [0.5, 1.0, 0.5, 0.0]);
    assert!(close(g, [0, 255, 119], 2), "{g:?}");
    // And the inverse direction round-trips.
    let w = working_from_srgb8(&i, [120, 60, 200]);
    assert!(close(px(&i, w), [120, 60, 200], 1));
}

#[test]
fn srgb_encoder_matches_exact_curve() {
    let enc = math::SrgbEncoder::new();
    let mut worst = 0.0f32;
    for i in 0..=100_000 {
        let x = i as f32 / 100_000.0;
        worst = worst.max((enc.encode(x) - math::linear_to_srgb(x)).abs());
    }
    assert!(worst * 255.0 < 0.05, "worst {}", worst * 255.0);
}

#[test]
fn xyz_matrices_are_inverse() {
    let inv = math::xyz_d50_to_srgb();
    for c in 0..3 {
        let mut e = [0.0f32; 3];
        e[c] = 1.0;
        let back = math::mul3(&inv, math::mul3(&math::SRGB_TO_XYZ_D50, e));
        for r in 0..3 {
            assert!((back[r] - e[r]).abs() < 1e-5);
        }
    }
}

fn lab8(l: f32, a: f32, b: f32) -> Color {
    [l / 100.0, (a + 128.0) / 255.0, (b + 128.0) / 255.0, 0.0]
}

#[test]
fn lab_known_values() {
    let i = info(ColorMode::Lab, 8, None);
    assert_eq!(px(&i, lab8(100.0, 0.0, 0.0)), [255, 255, 255]);
    assert_eq!(px(&i, lab8(0.0, 0.0, 0.0)), [0, 0, 0]);
    // L* 50: Y = (66/116)^3 = 0.18419, sRGB 0.4663 -> 118.9.
    assert_eq!(px(&i, lab8(50.0, 0.0, 0.0)), [119, 119, 119]);
    // sRGB red is Lab D50 (54.29, 80.80, 69.89) (Photoshop's Info panel
    // shows 54/81/70 for #FF0000).
    assert!(close(px(&i, lab8(54.29, 80.80, 69.89)), [255, 0, 0], 1));
    // sRGB blue is Lab D50 (29.57, 68.30, -112.03).
    assert!(close(px(&i, lab8(29.57, 68.30, -112.03)), [0, 0, 255], 1));
    // 16-bit neutral: a = b = 32768 / 65535.
    let i16 = info(ColorMode::Lab, 16, None);
    let n = 32768.0 / 65535.0;
    assert_eq!(px(&i16, [0.5, n, n, 0.0]), [119, 119, 119]);
    // Round trip through the inverse.
    let w = working_from_srgb8(&i, [30, 160, 90]);
    assert!(close(px(&i, w), [30, 160, 90], 1));
}

#[test]
fn linear_32bit_is_srgb_encoded() {
    let i = info(ColorMode::Rgb, 32, None);
    // sRGB(0.5) = 0.7354 -> 187.5 -> 188.
    assert_eq!(px(&i, [0.5, 0.0, 1.0, 0.0]), [188, 0, 255]);
    // HDR values clip.
    // Linear 0.18: 1.055 * 0.18^(1/2.4) - 0.055 = 0.4614 -> 117.6 -> 118.
    assert_eq!(px(&i, [4.0, 0.18, 0.0, 0.0]), [255, 118, 0]);
    let g = info(ColorMode::Grayscale, 32, None);
    assert_eq!(px(&g, [0.5, 0.5, 0.5, 0.0]), [188, 188, 188]);
    // Photoshop's "sRGB IEC61966-2.1 (Linear RGB Profile)" has sRGB
    // primaries: the same result.
    if let Some(icc) = fixture_profile("../../shared/fixtures/psd/psd-tools/32bit.psd") {
        let i = info(ColorMode::Rgb, 32, Some(icc));
        assert_eq!(px(&i, [0.5, 0.0, 1.0, 0.0]), [188, 0, 255]);
        let w = working_from_srgb8(&i, [188, 0, 255]);
        assert!((w[0] - 0.5).abs() < 0.004 && w[1].abs() < 1e-4, "{w:?}");
    }
}

#[test]
fn gray_without_profile_is_srgb_gray() {
    let i = info(ColorMode::Grayscale, 8, None);
    assert_eq!(px(&i, [0.2, 0.2, 0.2, 0.0]), [51, 51, 51]);
    let m = info(ColorMode::Multichannel, 16, None);
    assert_eq!(px(&m, [0.4, 0.9, 0.1, 0.0]), [102, 102, 102]);
    // sRGB to gray uses luminance: pure green has Y = 0.7169 -> sRGB 0.8634.
    let w = working_from_srgb8(&i, [0, 255, 0]);
    assert!((w[0] * 255.0 - 220.2).abs() < 0.6, "{w:?}");
}

#[test]
fn gray_profiles() {
    // Gray Gamma 2.2: 0.5 -> Y 0.2176 -> sRGB 0.5038 = 128.5.
    if let Some(icc) = fixture_profile("../../shared/fixtures/psd/psd-tools/gray-blend-modes.psd") {
        let i = info(ColorMode::Grayscale, 8, Some(icc));
        let v = px(&i, [0.5, 0.5, 0.5, 0.0]);
        assert!(
            close(v, [128, 128, 128], 1) || close(v, [129, 129, 129], 1),
            "{v:?}"
        );
        assert_eq!(px(&i, [1.0, 1.0, 1.0, 0.0]), [255, 255, 255]);
        assert_eq!(px(&i, [0.0, 0.0, 0.0, 0.0]), [0, 0, 0]);
    }
    // Dot Gain 20%: stored gray 0.5 is a 50% dot, which with 20% gain
    // covers 70%: reflectance Y = 0.30, sRGB 0.584 = 149. Ends stay at
    // black and white.
    if let Some(icc) =
        fixture_profile("../../shared/fixtures/psd/psd-tools/brightnesscontrast_grayscale.psd")
    {
        let i = info(ColorMode::Grayscale, 8, Some(icc));
        let mid = px(&i, [0.5, 0.5, 0.5, 0.0]);
        assert!(mid[0] >= 144 && mid[0] <= 154, "{mid:?}");
        assert_eq!(mid[0], mid[2]);
        assert!(px(&i, [1.0, 1.0, 1.0, 0.0])[0] >= 254);
        assert!(px(&i, [0.0, 0.0, 0.0, 0.0])[0] <= 1);
        // Inverse: sRGB gray back to the same output.
        let w = working_from_srgb8(&i, [100, 100, 100]);
        assert!(close(px(&i, w), [100, 100, 100], 1), "{w:?}");
    }
}

#[test]
fn cmyk_naive() {
    let i = info(ColorMode::Cmyk, 8, None);
    assert_eq!(px(&i, [1.0, 1.0, 1.0, 1.0]), [255, 255, 255]);
    assert_eq!(px(&i, [1.0, 1.0, 1.0, 0.0]), [0, 0, 0]);
    // 100% cyan: R = (1 - 1)(1 - 0) = 0.
    assert_eq!(px(&i, [0.0, 1.0, 1.0, 1.0]), [0, 255, 255]);
    // 50% magenta, 20% black: G = 0.5 * 0.8 = 0.4.
    assert_eq!(px(&i, [1.0, 0.5, 1.0, 0.8]), [204, 102, 204]);
    let w = working_from_srgb8(&i, [204, 102, 51]);
    assert_eq!(px(&i, w), [204, 102, 51]);
}

#[test]
fn cmyk_with_swop_profile() {
    let Some(icc) = fixture_profile("../../shared/fixtures/psd/ag-psd/cmyk.psd") else {
        return;
    };
    let i = info(ColorMode::Cmyk, 8, Some(icc));
    // Paper white (no ink) is the media white: sRGB white under relative
    // colorimetric.
    assert!(close(px(&i, [1.0, 1.0, 1.0, 1.0]), [255, 255, 255], 1));
    // All inks: the black point, mapped to sRGB black by BPC.
    // (Rich black is not quite neutral, so one channel may stay a hair up.)
    assert!(close(px(&i, [0.0, 0.0, 0.0, 0.0]), [0, 0, 0], 4));
    // 100% K alone: Photoshop shows #231F20 (35, 31, 32).
    let k = px(&i, [1.0, 1.0, 1.0, 0.0]);
    assert!(close(k, [35, 31, 32], 2), "{k:?}");
    // Photoshop's SWOP v2 -> sRGB (relative colorimetric + BPC) process
    // primaries: cyan #00AEEF, magenta #EC008C, yellow #FFF200.
    let c = px(&i, [0.0, 1.0, 1.0, 1.0]);
    let m = px(&i, [1.0, 0.0, 1.0, 1.0]);
    let y = px(&i, [1.0, 1.0, 0.0, 1.0]);
    eprintln!("C {c:?} M {m:?} Y {y:?} K {k:?}");
    assert!(close(c, [0, 174, 239], 2), "{c:?}");
    assert!(close(m, [236, 0, 140], 2), "{m:?}");
    assert!(close(y, [255, 242, 0], 2), "{y:?}");
    // sRGB -> CMYK -> sRGB round trip of in-gamut colours.
    for rgb in [
        [200u8, 100, 50],
        [90, 140, 200],
        [128, 128, 128],
        [240, 230, 200],
    ] {
        let w = working_from_srgb8(&i, rgb);
        let back = px(&i, w);
        assert!(close(back, rgb, 1), "{rgb:?} -> {w:?} -> {back:?}");
    }
}

#[test]
fn cmyk_table_is_smooth_between_nodes() {
    let Some(icc) = fixture_profile("../../shared/fixtures/psd/PhotoshopAPI/CMYK_8.psd") else {
        return;
    };
    let i = info(ColorMode::Cmyk, 8, Some(icc));
    // Along a cyan ramp, output red must fall monotonically (more ink,
    // less red light).
    let conv = SrgbConverter::new(&i);
    let color: Vec<Color> = (0..=255)
        .map(|v| [v as f32 / 255.0, 1.0, 1.0, 1.0])
        .collect();
    let out = conv.to_rgba8(&color, &vec![1.0; 256]);
    for v in 1..256 {
        assert!(out[v * 4] >= out[(v - 1) * 4], "red dips at {v}");
    }
}

#[test]
fn non_finite_inputs_stay_finite() {
    let adobe = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
    for i in [
        info(ColorMode::Rgb, 8, Some(adobe)),
        info(ColorMode::Lab, 8, None),
        info(ColorMode::Cmyk, 8, None),
        info(ColorMode::Grayscale, 8, None),
    ] {
        let w = WorkingConverter::new(&i);
        for v in [
            w.srgb_to_lanes([f32::NAN, 0.5, 2.0]),
            w.lab_to_lanes([f32::NAN, f32::INFINITY, -1e30]),
            w.cmyk_ink_to_lanes([f32::NAN; 4]),
            w.gray_to_lanes(f32::NAN),
        ] {
            assert!(v.iter().all(|x| x.is_finite()), "{:?}: {v:?}", i.mode);
        }
        let _ = px(&i, [f32::NAN, f32::INFINITY, -1.0, 0.5]);
    }
}

#[test]
fn palette_parse() {
    let mut data = vec![0u8; 768];
    data[5] = 10;
    data[256 + 5] = 20;
    data[512 + 5] = 30;
    let p = palette_rgb(&data).unwrap();
    assert_eq!(p.len(), 256);
    assert_eq!(p[5], [10, 20, 30]);
    assert!(palette_rgb(&data[..767]).is_none());
}

fn desc(class: &str, items: &[(&str, Value)]) -> Descriptor {
    Descriptor {
        name: String::new(),
        class_id: class.to_string(),
        items: items
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

fn d(v: f64) -> Value {
    Value::Double(v)
}

fn approx(a: Color, b: Color, tol: f32) -> bool {
    (0..4).all(|i| (a[i] - b[i]).abs() <= tol)
}

#[test]
fn descriptor_colours() {
    let rgb = info(ColorMode::Rgb, 8, None);
    let rgbc = desc(
        "RGBC",
        &[("Rd  ", d(255.0)), ("Grn ", d(51.0)), ("Bl  ", d(0.0))],
    );
    assert_eq!(descriptor_color(&rgbc, &rgb), Some([1.0, 0.2, 0.0, 0.0]));
    let float = desc(
        "RGBC",
        &[
            ("redFloat", d(0.25)),
            ("greenFloat", d(0.5)),
            ("blueFloat", d(1.0)),
        ],
    );
    assert_eq!(descriptor_color(&float, &rgb), Some([0.25, 0.5, 1.0, 0.0]));
    let hsb = desc(
        "HSBC",
        &[
            (
                "H   ",
                Value::UnitFloat {
                    unit: "#Ang".into(),
                    value: 240.0,
                },
            ),
            ("Strt", d(50.0)),
            ("Brgh", d(80.0)),
        ],
    );
    // HSB(240, 50%, 80%) = RGB(0.4, 0.4, 0.8).
    assert!(approx(
        descriptor_color(&hsb, &rgb).unwrap(),
        [0.4, 0.4, 0.8, 0.0],
        1e-5
    ));
    let gray = desc("Grsc", &[("Gry ", d(25.0))]);
    assert!(approx(
        descriptor_color(&gray, &rgb).unwrap(),
        [0.75, 0.75, 0.75, 0.0],
        1e-6
    ));
    let g = info(ColorMode::Grayscale, 8, None);
    assert!(approx(
        descriptor_color(&gray, &g).unwrap(),
        [0.75, 0.75, 0.75, 0.0],
        1e-6
    ));
    // Lab white in an RGB document; Lab in a Lab document maps to lanes.
    let lab = desc(
        "LbCl",
        &[("Lmnc", d(100.0)), ("A   ", d(0.0)), ("B   ", d(0.0))],
    );
    let w = descriptor_color(&lab, &rgb).unwrap();
    assert!(approx(w, [1.0, 1.0, 1.0, 0.0], 2.0 / 255.0), "{w:?}");
    let lab2 = desc(
        "LbCl",
        &[("Lmnc", d(50.0)), ("A   ", d(20.0)), ("B   ", d(-30.0))],
    );
    let l = info(ColorMode::Lab, 8, None);
    assert!(approx(
        descriptor_color(&lab2, &l).unwrap(),
        [0.5, 148.0 / 255.0, 98.0 / 255.0, 0.0],
        1e-6
    ));
    // CMYK ink percentages: exact stored values in a CMYK document, naive
    // in RGB.
    let cmyc = desc(
        "CMYC",
        &[
            ("Cyn ", d(100.0)),
            ("Mgnt", d(50.0)),
            ("Ylw ", d(0.0)),
            ("Blck", d(20.0)),
        ],
    );
    let c = info(ColorMode::Cmyk, 8, None);
    assert!(approx(
        descriptor_color(&cmyc, &c).unwrap(),
        [0.0, 0.5, 1.0, 0.8],
        1e-6
    ));
    assert!(approx(
        descriptor_color(&cmyc, &rgb).unwrap(),
        [0.0, 0.4, 0.8, 0.0],
        1e-6
    ));
    // RGB colour in a CMYK document without a profile: naive inverse.
    assert!(approx(
        descriptor_color(&rgbc, &c).unwrap(),
        [1.0, 0.2, 0.0, 1.0],
        1e-6
    ));
    // Book colour with the colour nested under `Clr `.
    let book = desc(
        "BkCl",
        &[
            ("Bk  ", Value::String("PANTONE+ Solid Coated".into())),
            ("Nm  ", Value::String("PANTONE 185 C".into())),
            ("Clr ", Value::Descriptor(lab2.clone())),
        ],
    );
    assert!(approx(
        descriptor_color(&book, &l).unwrap(),
        [0.5, 148.0 / 255.0, 98.0 / 255.0, 0.0],
        1e-6
    ));
    // Book colour with Lab keys inline.
    let book2 = desc(
        "BkCl",
        &[
            ("Bk  ", Value::String("x".into())),
            ("Lmnc", d(50.0)),
            ("A   ", d(20.0)),
            ("B   ", d(-30.0)),
        ],
    );
    assert_eq!(descriptor_color(&book2, &l), descriptor_color(&book, &l));
    // Nothing recognisable.
    assert_eq!(
        descriptor_color(&desc("RGBC", &[("Rd  ", d(1.0))]), &rgb),
        None
    );
}

#[test]
fn descriptor_rgb_into_cmyk_profile_document() {
    let Some(icc) = fixture_profile("../../shared/fixtures/psd/ag-psd/cmyk.psd") else {
        return;
    };
    let i = info(ColorMode::Cmyk, 8, Some(icc));
    let red = desc(
        "RGBC",
        &[("Rd  ", d(230.0)), ("Grn ", d(40.0)), ("Bl  ", d(40.0))],
    );
    let w = descriptor_color(&red, &i).unwrap();
    // Red prints with magenta and yellow, little cyan.
    assert!(w[0] > 0.8 && w[1] < 0.3 && w[2] < 0.3, "{w:?}");
    assert!(close(px(&i, w), [230, 40, 40], 1), "{:?}", px(&i, w));
}

#[test]
fn descriptor_rgb_in_adobe_rgb_document_is_document_rgb() {
    let adobe = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
    let i = info(ColorMode::Rgb, 8, Some(adobe));
    let c = desc(
        "RGBC",
        &[("Rd  ", d(0.0)), ("Grn ", d(255.0)), ("Bl  ", d(0.0))],
    );
    assert_eq!(descriptor_color(&c, &i), Some([0.0, 1.0, 0.0, 0.0]));
}

#[test]
fn cmyk_japan_color_16bit_profile() {
    let Some(icc) = fixture_profile("../../shared/fixtures/psd/oov-psd/cmyk16bit.psd") else {
        return;
    };
    let i = info(ColorMode::Cmyk, 16, Some(icc));
    assert!(close(px(&i, [1.0, 1.0, 1.0, 1.0]), [255, 255, 255], 1));
    assert!(close(px(&i, [0.0, 0.0, 0.0, 0.0]), [0, 0, 0], 4));
    // Process cyan is a light blue with no red.
    let c = px(&i, [0.0, 1.0, 1.0, 1.0]);
    assert!(c[0] < 20 && c[1] > 140 && c[2] > 210, "{c:?}");
}

#[test]
fn resource_finder_finds_profile() {
    if let Some(icc) = fixture_profile("../../shared/fixtures/psd/PhotoshopAPI/CMYK_8.psd") {
        assert_eq!(&icc[36..40], b"acsp");
        assert_eq!(&icc[16..20], b"CMYK");
    }
}

#[test]
fn to_u8_rounds_to_nearest_and_clamps_everything_else() {
    use super::math::to_u8;
    assert_eq!(to_u8(0.0), 0);
    assert_eq!(to_u8(1.0), 255);
    // 0.5/255 is the first value that rounds up to 1; just below stays 0.
    assert_eq!(to_u8(0.5 / 255.0 + 1e-6), 1);
    assert_eq!(to_u8(0.5 / 255.0 - 1e-6), 0);
    assert_eq!(to_u8(128.0 / 255.0), 128);
    assert_eq!(to_u8(-0.3), 0);
    assert_eq!(to_u8(-0.0), 0);
    assert_eq!(to_u8(7.5), 255);
    assert_eq!(to_u8(f32::INFINITY), 255);
    assert_eq!(to_u8(f32::NEG_INFINITY), 0);
    assert_eq!(to_u8(f32::NAN), 0);
}

#[test]
fn srgb_document_pixels_and_alpha_convert_in_one_pass() {
    // No profile: lanes are sRGB already; alpha rides along in byte 3 and
    // the fourth colour lane is ignored.
    let i = info(ColorMode::Rgb, 8, None);
    let color = [
        [0.0, 0.5, 1.0, 0.7],
        [1.5, -1.0, f32::NAN, 0.0],
        [10.0 / 255.0, 200.0 / 255.0, 0.999, 0.0],
    ];
    let alpha = [1.0, 0.25, f32::NAN];
    let out = to_rgba8(&i, &color, &alpha);
    assert_eq!(
        out,
        [0, 128, 255, 255, 255, 0, 0, 64, 10, 200, 255, 0],
        "0.5*255 = 127.5 rounds up; 0.25*255 = 63.75 -> 64"
    );
    // `convert_into` converts as many pixels as every slice holds.
    let mut short = [9u8; 8];
    SrgbConverter::new(&i).convert_into(&color, &alpha[..1], &mut short);
    assert_eq!(short, [0, 128, 255, 255, 9, 9, 9, 9]);
}

#[test]
fn gray_inverse_finds_what_a_binary_search_finds() {
    // A rising table with flat runs and steep steps, like a gray profile's.
    let table: Vec<f32> = (0..=GRAY_STEPS)
        .map(|i| {
            let g = i as f32 / GRAY_STEPS as f32;
            if (0.3..0.31).contains(&g) {
                0.3f32.powf(0.45)
            } else {
                g.powf(0.45)
            }
        })
        .collect();
    let inv = GrayInverse::new(table.clone());
    let mut targets: Vec<f32> = vec![0.0, -0.0, -1.0, 1.0, 1.5, f32::NAN, 0.4];
    targets.extend(table.iter().step_by(7).copied());
    targets.extend(table.iter().map(|v| f32::from_bits(v.to_bits() + 1)));
    targets.extend((0..=GrayInverse::BUCKETS).map(|k| k as f32 / GrayInverse::BUCKETS as f32));
    targets.extend((0..20_000).map(|i| (i as f32 * 0.618_034).fract()));
    for t in targets {
        assert_eq!(
            inv.position(t),
            table.partition_point(|&v| v < t),
            "target {t}"
        );
    }
}
