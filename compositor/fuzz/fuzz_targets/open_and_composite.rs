//! Feeds arbitrary bytes through the whole reader and compositor. Any panic,
//! hang or allocation beyond the limits is a bug.
#![no_main]

use compositor::Limits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run fast and make limit paths reachable.
    let limits = Limits {
        max_canvas_pixels: 1 << 20,
        max_layer_pixels: 1 << 20,
        max_decoded_bytes: 64 << 20,
        max_layers: 256,
        ..Limits::default()
    };
    if let Ok(doc) = compositor::open(data, &limits) {
        let _ = compositor::inspect::inspect(&doc);
        let _ = compositor::composite_rgba8(&doc, &limits);
    }
});
