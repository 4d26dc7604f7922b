//! Helpers shared by the unit tests: fixture files and raw block lookup.

/// A shared fixture by its path under `../shared/fixtures/psd/`, or `None`
/// (with a note) when the fixtures are not checked out beside the repo.
pub(crate) fn fixture(path: &str) -> Option<Vec<u8>> {
    let full = format!("../../shared/fixtures/psd/{path}");
    match std::fs::read(&full) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("skipping: fixture {full} not found");
            None
        }
    }
}

/// Every `8BIM<key>` tagged block's data in a file (4-byte lengths), found
/// by scanning the bytes: lets a unit test reach a real block without the
/// reader under test.
pub(crate) fn tagged_blocks<'a>(file: &'a [u8], key: &[u8; 4]) -> Vec<&'a [u8]> {
    let mut tag = *b"8BIM\0\0\0\0";
    tag[4..].copy_from_slice(key);
    let mut out = Vec::new();
    let mut i = 0;
    while i + 12 <= file.len() {
        if file[i..i + 8] == tag {
            let len =
                u32::from_be_bytes([file[i + 8], file[i + 9], file[i + 10], file[i + 11]]) as usize;
            if let Some(d) = file.get(i + 12..i + 12 + len) {
                out.push(d);
            }
            i += 12;
        } else {
            i += 1;
        }
    }
    out
}
