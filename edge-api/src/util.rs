//! Small helpers: ids, hashing, time formatting.

use crate::env::Env;
use sha2::{Digest, Sha256};

/// A random (version 4) UUID in its canonical text form.
pub(crate) fn uuid_v4(env: &dyn Env) -> String {
    let mut b = [0u8; 16];
    env.random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// 128 random bits as 32 lower-case hex digits (file ids: unguessable,
/// because files are served without authentication).
pub(crate) fn random_hex128(env: &dyn Env) -> String {
    let mut b = [0u8; 16];
    env.random(&mut b);
    hex(&b)
}

/// `n` random base62 characters, without modulo bias (bytes >= 248 are
/// redrawn, 248 being the largest multiple of 62 below 256).
pub(crate) fn random_base62(env: &dyn Env, n: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        env.random(&mut buf);
        for &b in &buf {
            if b < 248 && out.len() < n {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// Bytes of lower- or upper-case hex (`None` if malformed).
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some((v(p[0])? * 16 + v(p[1])?) as u8))
        .collect()
}

/// SHA-256 as hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Whether `s` is a UUID in canonical 8-4-4-4-12 hex form.
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix milliseconds as ISO 8601 UTC with second precision:
/// `2026-06-22T10:00:00Z`.
pub(crate) fn iso8601(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses an ISO 8601 date or date-time to unix milliseconds:
/// `2026-06-22`, `2026-06-22T10:00:00Z`, with optional fractional seconds
/// and a `Z` or `+hh:mm`/`-hh:mm` offset (none means UTC). `None` if
/// malformed or before 1970.
pub(crate) fn parse_iso8601(s: &str) -> Option<u64> {
    let s = s.trim();
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok())?
    };
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m as u32, d as u32) * 86_400_000;
    if let Some(t) = time {
        let (clock, offset_ms) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(i) = t.rfind(['+', '-']) {
            let (c, off) = t.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
            (c, sign * (num(oh)? * 3_600_000 + num(om)? * 60_000))
        } else {
            (t, 0)
        };
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut f = hms.split(':');
        let h = num(f.next()?)?;
        let mi = num(f.next()?)?;
        let sec = f.next().map_or(Some(0), num)?;
        if f.next().is_some() || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let frac_ms = if frac.is_empty() {
            0
        } else {
            let digits: String = frac.chars().chain("000".chars()).take(3).collect();
            num(&digits)?
        };
        ms += h * 3_600_000 + mi * 60_000 + sec * 1000 + frac_ms - offset_ms;
    }
    u64::try_from(ms).ok()
}

/// The calendar month (UTC) containing `ms`: its key `2026-06` and its
/// start and end (the next month's start) in unix milliseconds. Credit
/// usage is counted per month.
pub(crate) fn month(ms: u64) -> (String, u64, u64) {
    let days = (ms / 86_400_000) as i64;
    let (y, m, _) = civil_from_days(days);
    let start = days_from_civil(y, m, 1) as u64 * 86_400_000;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let end = days_from_civil(ny, nm, 1) as u64 * 86_400_000;
    (format!("{y:04}-{m:02}"), start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        // 2026-06-22T10:00:03Z, computed with `date -u -d ... +%s`.
        assert_eq!(iso8601(1_782_122_403_000), "2026-06-22T10:00:03Z");
        // Leap day.
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_iso8601() {
        let t = 1_782_122_400_000; // 2026-06-22T10:00:00Z
        assert_eq!(parse_iso8601("2026-06-22T10:00:00Z"), Some(t));
        assert_eq!(parse_iso8601("2026-06-22T10:00:00"), Some(t));
        assert_eq!(parse_iso8601("2026-06-22T12:00:00+02:00"), Some(t));
        assert_eq!(
            parse_iso8601("2026-06-22T09:30:00.250-00:30"),
            Some(t + 250)
        );
        assert_eq!(parse_iso8601("2026-06-22"), Some(t - 10 * 3_600_000));
        assert_eq!(parse_iso8601(&iso8601(t)), Some(t));
        for bad in [
            "",
            "2026-13-01",
            "2026-06-22T25:00:00Z",
            "yesterday",
            "2026-06",
            "1969-12-31",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn month_bounds() {
        let (key, start, end) = month(1_782_122_403_000);
        assert_eq!(key, "2026-06");
        assert_eq!(iso8601(start), "2026-06-01T00:00:00Z");
        assert_eq!(iso8601(end), "2026-07-01T00:00:00Z");
        let (key, _, end) = month(1_796_083_200_000); // 2026-12-01
        assert_eq!(key, "2026-12");
        assert_eq!(iso8601(end), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("c315f78f-d2c7-4541-b240-a9372842de94"));
        assert!(!is_uuid("c315f78f-d2c7-4541-b240-a9372842de9"));
        assert!(!is_uuid("c315f78fxd2c7-4541-b240-a9372842de94"));
        assert_eq!(unhex("00ff"), Some(vec![0, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
