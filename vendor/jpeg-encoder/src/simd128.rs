//! Patched in (not in jpeg-encoder 0.7.1): the AVX2 forward DCT
//! (`avx2/fdct.rs`, unchanged but for its `target_feature` attributes)
//! compiled for wasm simd128 over a shim of the AVX2 intrinsics it calls.
//!
//! Why the AVX2 code and not the scalar `fdct`: the two round differently
//! (the AVX2 form folds the constants as libjpeg-turbo's SIMD does; 99% of
//! blocks differ by one somewhere), and native x86-64 encodes with AVX2.
//! Running the same arithmetic in wasm makes the service's JPEG byte for
//! byte the native offline render's, which `compositor`'s reference-file
//! test checks natively and in the browser. It is also 4-5x faster than
//! the scalar form in wasm.

#[path = "avx2/fdct.rs"]
mod fdct;

pub(crate) use fdct::fdct_avx2 as fdct_simd128;

/// The AVX2 intrinsics `avx2/fdct.rs` uses, with Intel's semantics, on a
/// pair of simd128 registers (the two 128-bit lanes of a `__m256i`). Only
/// the shift counts those call sites use (< 16) are supported.
#[allow(non_camel_case_types)]
pub(crate) mod avx2_shim {
    use core::arch::wasm32::*;

    /// The low and high 128-bit lanes.
    #[derive(Clone, Copy)]
    pub struct __m256i(v128, v128);

    #[inline(always)]
    fn each(a: __m256i, b: __m256i, f: impl Fn(v128, v128) -> v128) -> __m256i {
        __m256i(f(a.0, b.0), f(a.1, b.1))
    }

    #[inline(always)]
    pub fn _mm256_add_epi16(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i16x8_add(a, b))
    }

    #[inline(always)]
    pub fn _mm256_sub_epi16(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i16x8_sub(a, b))
    }

    #[inline(always)]
    pub fn _mm256_add_epi32(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i32x4_add(a, b))
    }

    /// `pmaddwd`: wasm's dot product is the same operation.
    #[inline(always)]
    pub fn _mm256_madd_epi16(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i32x4_dot_i16x8(a, b))
    }

    /// Signed saturation, within each 128-bit lane.
    #[inline(always)]
    pub fn _mm256_packs_epi32(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i16x8_narrow_i32x4(a, b))
    }

    /// `a` negated where `b < 0`, zero where `b == 0`, `a` where `b > 0`.
    #[inline(always)]
    pub fn _mm256_sign_epi16(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| {
            let zero = i16x8_splat(0);
            let signed = v128_bitselect(i16x8_neg(a), a, i16x8_lt(b, zero));
            v128_andnot(signed, i16x8_eq(b, zero))
        })
    }

    #[inline(always)]
    pub fn _mm256_slli_epi16(a: __m256i, imm: i32) -> __m256i {
        __m256i(i16x8_shl(a.0, imm as u32), i16x8_shl(a.1, imm as u32))
    }

    #[inline(always)]
    pub fn _mm256_srai_epi16(a: __m256i, imm: i32) -> __m256i {
        __m256i(i16x8_shr(a.0, imm as u32), i16x8_shr(a.1, imm as u32))
    }

    #[inline(always)]
    pub fn _mm256_srai_epi32(a: __m256i, imm: i32) -> __m256i {
        __m256i(i32x4_shr(a.0, imm as u32), i32x4_shr(a.1, imm as u32))
    }

    #[inline(always)]
    pub fn _mm256_unpacklo_epi16(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b))
    }

    #[inline(always)]
    pub fn _mm256_unpackhi_epi16(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| {
            i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b)
        })
    }

    #[inline(always)]
    pub fn _mm256_unpacklo_epi32(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i32x4_shuffle::<0, 4, 1, 5>(a, b))
    }

    #[inline(always)]
    pub fn _mm256_unpackhi_epi32(a: __m256i, b: __m256i) -> __m256i {
        each(a, b, |a, b| i32x4_shuffle::<2, 6, 3, 7>(a, b))
    }

    /// Each output lane is a lane of `a` or `b` (or zero), chosen by a
    /// nibble of `imm`.
    #[inline(always)]
    pub fn _mm256_permute2x128_si256(a: __m256i, b: __m256i, imm: i32) -> __m256i {
        let pick = |control: i32| {
            if control & 8 != 0 {
                return i64x2_splat(0);
            }
            match control & 3 {
                0 => a.0,
                1 => a.1,
                2 => b.0,
                _ => b.1,
            }
        };
        __m256i(pick(imm), pick(imm >> 4))
    }

    /// Output 64-bit element `i` is element `imm >> 2i & 3` of `a`.
    #[inline(always)]
    pub fn _mm256_permute4x64_epi64(a: __m256i, imm: i32) -> __m256i {
        let e = [
            i64x2_extract_lane::<0>(a.0),
            i64x2_extract_lane::<1>(a.0),
            i64x2_extract_lane::<0>(a.1),
            i64x2_extract_lane::<1>(a.1),
        ];
        let pick = |i: i32| e[(imm >> (2 * i) & 3) as usize];
        __m256i(i64x2(pick(0), pick(1)), i64x2(pick(2), pick(3)))
    }

    /// Arguments from the highest element down, as Intel's.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn _mm256_set_epi16(
        e15: i16,
        e14: i16,
        e13: i16,
        e12: i16,
        e11: i16,
        e10: i16,
        e9: i16,
        e8: i16,
        e7: i16,
        e6: i16,
        e5: i16,
        e4: i16,
        e3: i16,
        e2: i16,
        e1: i16,
        e0: i16,
    ) -> __m256i {
        __m256i(
            i16x8(e0, e1, e2, e3, e4, e5, e6, e7),
            i16x8(e8, e9, e10, e11, e12, e13, e14, e15),
        )
    }

    /// Arguments from the highest element down, as Intel's.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn _mm256_set_epi32(
        e7: i32,
        e6: i32,
        e5: i32,
        e4: i32,
        e3: i32,
        e2: i32,
        e1: i32,
        e0: i32,
    ) -> __m256i {
        __m256i(i32x4(e0, e1, e2, e3), i32x4(e4, e5, e6, e7))
    }

    /// # Safety
    /// `p` points to 32 readable bytes (no alignment needed).
    #[inline(always)]
    pub unsafe fn _mm256_loadu_si256(p: *const __m256i) -> __m256i {
        let p = p as *const v128;
        // SAFETY: the caller's 32 bytes are two v128s.
        unsafe { __m256i(v128_load(p), v128_load(p.add(1))) }
    }

    /// # Safety
    /// `p` points to 32 writable bytes (no alignment needed).
    #[inline(always)]
    pub unsafe fn _mm256_storeu_si256(p: *mut __m256i, a: __m256i) {
        let p = p as *mut v128;
        // SAFETY: the caller's 32 bytes are two v128s.
        unsafe {
            v128_store(p, a.0);
            v128_store(p.add(1), a.1);
        }
    }
}
