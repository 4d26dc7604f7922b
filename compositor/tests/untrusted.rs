//! Hostile and damaged input: every case must end in a typed error or a
//! document, never a panic, a hang or an allocation past the limits.

use compositor::{Error, Limits};

const FIXTURES: &str = "../../shared/fixtures/psd";

/// Opens and, when that works, composites: the whole pipeline a user's file
/// goes through.
fn exercise(bytes: &[u8], limits: &Limits) -> Result<(), Error> {
    let doc = compositor::open(bytes, limits)?;
    compositor::composite_rgba8(&doc, limits)?;
    let _ = compositor::inspect::inspect(&doc);
    Ok(())
}

fn fixture(rel: &str) -> Option<Vec<u8>> {
    let p = format!("{FIXTURES}/{rel}");
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("{p} missing; skipping");
            None
        }
    }
}

/// A minimal valid header: RGB, 8-bit, `w` x `h`.
fn header(w: u32, h: u32, channels: u16, depth: u16, mode: u16) -> Vec<u8> {
    let mut v = b"8BPS".to_vec();
    v.extend(1u16.to_be_bytes());
    v.extend([0; 6]);
    v.extend(channels.to_be_bytes());
    v.extend(h.to_be_bytes());
    v.extend(w.to_be_bytes());
    v.extend(depth.to_be_bytes());
    v.extend(mode.to_be_bytes());
    v
}

#[test]
fn truncated_files_fail_cleanly() {
    let limits = Limits::default();
    for rel in [
        "psd-tools/placedLayer.psd",
        "ag-psd/effects.psd",
        "PhotoshopAPI/Groups_16bit.psd",
        "psd-tools/32bit.psd",
    ] {
        let Some(bytes) = fixture(rel) else { continue };
        assert!(exercise(&bytes, &limits).is_ok(), "{rel} itself must open");
        // Every cut in the first 2 KB (header, resources, layer records),
        // then 300 cuts spread over the rest.
        let mut cuts: Vec<usize> = (0..bytes.len().min(2048)).collect();
        cuts.extend((0..300).map(|i| i * bytes.len() / 300));
        for cut in cuts {
            // Either an error or (for cuts inside the merged image) a
            // document: both are fine, a panic is not.
            let _ = exercise(&bytes[..cut], &limits);
        }
    }
}

#[test]
fn garbage_is_rejected() {
    let limits = Limits::default();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for len in [0usize, 1, 4, 25, 26, 100, 4096] {
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        assert!(compositor::open(&bytes, &limits).is_err());
    }
    // A valid header followed by garbage, many times over.
    for _ in 0..500 {
        let mut bytes = header(64, 64, 3, 8, 3);
        bytes.extend((0..(next() % 2000)).map(|_| next() as u8));
        let _ = exercise(&bytes, &limits);
    }
    // Random byte flips in a real file.
    if let Some(orig) = fixture("psd-tools/clip-adjustment.psd") {
        for _ in 0..400 {
            let mut bytes = orig.clone();
            for _ in 0..8 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            let _ = exercise(&bytes, &limits);
        }
    }
}

#[test]
fn absurd_dimensions_are_refused_before_allocating() {
    let limits = Limits::default();
    let err = compositor::open(&header(30_000, 30_000, 3, 8, 3), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "canvas pixels",
                ..
            }
        ),
        "{err}"
    );
    let err = compositor::open(&header(0, 10, 3, 8, 3), &limits).unwrap_err();
    assert!(matches!(err, Error::Invalid { what: "width", .. }), "{err}");
    let err = compositor::open(&header(10, 10, 3, 7, 3), &limits).unwrap_err();
    assert!(matches!(err, Error::Invalid { what: "depth", .. }), "{err}");
    let err = compositor::open(&header(10, 10, 99, 8, 3), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                what: "channel count",
                ..
            }
        ),
        "{err}"
    );
}

/// Appends empty colour-mode data and resources, then a layer section.
fn with_layers(mut bytes: Vec<u8>, layer_info: &[u8]) -> Vec<u8> {
    bytes.extend(0u32.to_be_bytes());
    bytes.extend(0u32.to_be_bytes());
    let mut lmi = (layer_info.len() as u32).to_be_bytes().to_vec();
    lmi.extend(layer_info);
    bytes.extend((lmi.len() as u32).to_be_bytes());
    bytes.extend(lmi);
    bytes
}

/// A layer record with `rect` and one RLE channel, whose data follows.
fn layer_record(top: i32, left: i32, bottom: i32, right: i32, lsct: Option<u32>) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [top, left, bottom, right] {
        v.extend(x.to_be_bytes());
    }
    v.extend(1u16.to_be_bytes());
    v.extend(0i16.to_be_bytes());
    v.extend(2u32.to_be_bytes()); // channel data length: just the compression code
    v.extend(b"8BIMnorm");
    v.extend([255, 0, 0, 0]);
    let mut extra = Vec::new();
    extra.extend(0u32.to_be_bytes()); // mask
    extra.extend(0u32.to_be_bytes()); // blending ranges
    extra.extend([0, 0, 0, 0]); // empty name padded to 4
    if let Some(t) = lsct {
        extra.extend(b"8BIMlsct");
        extra.extend(4u32.to_be_bytes());
        extra.extend(t.to_be_bytes());
    }
    v.extend((extra.len() as u32).to_be_bytes());
    v.extend(extra);
    v
}

#[test]
fn absurd_layer_counts_and_sizes_are_refused() {
    let limits = Limits::default();
    // 30,000 layers announced in a few bytes.
    let mut li = 30_000i16.to_be_bytes().to_vec();
    li.extend([0u8; 64]);
    let err = compositor::open(&with_layers(header(8, 8, 3, 8, 3), &li), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "layer count",
                ..
            }
        ),
        "{err}"
    );

    let small = Limits {
        max_layers: 100,
        ..Limits::default()
    };
    let mut li = 200i16.to_be_bytes().to_vec();
    li.extend([0u8; 64]);
    let err = compositor::open(&with_layers(header(8, 8, 3, 8, 3), &li), &small).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");

    // One layer claiming 1,000,000 x 1,000,000 pixels.
    let mut li = 1i16.to_be_bytes().to_vec();
    li.extend(layer_record(0, 0, 1_000_000, 1_000_000, None));
    li.extend(0u16.to_be_bytes());
    let err = compositor::open(&with_layers(header(8, 8, 3, 8, 3), &li), &limits).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "{err}");
}

#[test]
fn decompression_bombs_stop_at_the_budget() {
    // A ZIP channel of a 4000 x 4000 layer compresses to a few KB.
    let side = 4000u32;
    let zeros = vec![0u8; (side * side) as usize];
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9);
    let mut li = 1i16.to_be_bytes().to_vec();
    let mut rec = layer_record(0, 0, side as i32, side as i32, None);
    // Patch the channel length (bytes 20..24) to hold the compressed data.
    rec[20..24].copy_from_slice(&((z.len() + 2) as u32).to_be_bytes());
    li.extend(rec);
    li.extend(2u16.to_be_bytes());
    li.extend(&z);
    let file = with_layers(header(side, side, 3, 8, 3), &li);
    assert!(file.len() < 64 * 1024);
    let tight = Limits {
        max_decoded_bytes: 1 << 20,
        ..Limits::default()
    };
    let err = compositor::open(&file, &tight).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "decoded pixel data in bytes",
                ..
            }
        ),
        "{err}"
    );
    // With room for it, the same file opens.
    assert!(compositor::open(&file, &Limits::default()).is_ok());
}

#[test]
fn deep_group_nesting_is_refused() {
    let limits = Limits {
        max_group_depth: 16,
        ..Limits::default()
    };
    let depth = 40;
    let mut li = ((depth * 2 + 1) as i16).to_be_bytes().to_vec();
    let mut data = Vec::new();
    for _ in 0..depth {
        li.extend(layer_record(0, 0, 0, 0, Some(3)));
        data.extend(0u16.to_be_bytes());
    }
    li.extend(layer_record(0, 0, 1, 1, None));
    data.extend(0u16.to_be_bytes());
    for _ in 0..depth {
        li.extend(layer_record(0, 0, 0, 0, Some(1)));
        data.extend(0u16.to_be_bytes());
    }
    li.extend(data);
    let err = compositor::open(&with_layers(header(8, 8, 3, 8, 3), &li), &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "group nesting depth",
                ..
            }
        ),
        "{err}"
    );
    // Within the limit the same structure builds 40 nested groups.
    let roomy = Limits::default();
    let doc = compositor::open(&with_layers(header(8, 8, 3, 8, 3), &li), &roomy).unwrap();
    assert_eq!(doc.walk().len(), depth * 2 / 2 + 1);
}

/// Inputs the fuzzer once crashed on (`tests/fuzz-regressions/`), replayed
/// with the fuzz target's limits.
#[test]
fn fuzz_regressions_stay_fixed() {
    let limits = Limits {
        max_canvas_pixels: 1 << 20,
        max_layer_pixels: 1 << 20,
        max_decoded_bytes: 64 << 20,
        max_layers: 256,
        ..Limits::default()
    };
    let mut n = 0;
    for entry in std::fs::read_dir("tests/fuzz-regressions")
        .expect("regressions folder")
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).expect("readable");
        let _ = exercise(&bytes, &limits);
        let _ = exercise(&bytes, &Limits::default());
        n += 1;
    }
    assert!(n > 0, "no regression inputs found");
}
