//! Feeds arbitrary bytes through the whole reader and compositor, and a
//! render that refills every smart object with a colour (so hostile
//! transforms and mesh warps are placed too). Any panic, hang or allocation
//! beyond the limits is a bug.
#![no_main]

use compositor::render::blend::BlendMode;
use compositor::request::{
    ArtworkAdjustments, ColorOverlay, ExportOptions, ImageFormat, ImageSize, RenderRequest,
    SmartObjectRequest,
};
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
    let Ok(doc) = compositor::open(data, &limits) else {
        return;
    };
    let info = compositor::inspect::inspect(&doc);
    let _ = compositor::composite_rgba8(&doc, &limits);
    let smart_objects = info
        .smart_objects
        .iter()
        .take(4)
        .map(|so| SmartObjectRequest {
            uuid: so.uuid.clone(),
            asset: None,
            color: Some(ColorOverlay {
                rgb: [200, 30, 90],
                blend_mode: BlendMode::Normal,
            }),
            adjustments: ArtworkAdjustments {
                opacity: 100,
                ..Default::default()
            },
        })
        .collect();
    let req = RenderRequest {
        mockup_uuid: None,
        smart_objects,
        text_layers: Vec::new(),
        hidden_layers: Vec::new(),
        export_options: ExportOptions {
            image_format: ImageFormat::Png,
            image_size: ImageSize::Width(128),
            quality: 90,
            dpi: None,
        },
        export_label: None,
        is_async: false,
    };
    let _ = compositor::mockup::render(&doc, &req, &|_| Err("offline".into()), &limits);
});
