//! Composite throughput over real templates, in megapixels per second.
//!
//! `open` is parse + document build; `composite` is the layer-tree render
//! plus conversion to sRGB RGBA8, on an already opened document. Ratios
//! against psd-tools on the same files come from
//! `scripts/bench-vs-psd-tools.py`.

// Allocate as the `mockup` host does, so large per-render buffers are
// reused instead of being faulted in afresh on every iteration.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use compositor::Limits;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const FILES: &[&str] = &[
    "psd-tools/masks.psd",
    "psd-tools/rgb-blend-modes.psd",
    "psd-tools/layer_effects.psd",
    "PhotoshopAPI/CMYK_8.psd",
    "TwelveMonkeys/adobehq_layers.psd",
    "oov-psd/ibispaint.psd",
    "ag-psd/placed-transform.psd",
];

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("composite");
    group.sample_size(10);
    for rel in FILES {
        let path = format!("../../shared/fixtures/psd/{rel}");
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("{path} missing; skipped");
            continue;
        };
        let doc = compositor::open(&bytes, &limits).expect("fixture opens");
        group.throughput(Throughput::Elements(doc.width as u64 * doc.height as u64));
        group.bench_with_input(BenchmarkId::new("open", rel), &bytes, |b, bytes| {
            b.iter(|| compositor::open(bytes, &limits).expect("opens"))
        });
        group.bench_with_input(BenchmarkId::new("composite", rel), &doc, |b, doc| {
            b.iter(|| compositor::composite_rgba8(doc, &limits).expect("composites"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
