// The vector kernels of CShardFlowKernels.h. The base64 ones follow the AVX2 algorithms of
// Wojciech Muła and Daniel Lemire ("Faster Base64 Encoding and Decoding Using AVX2
// Instructions", ACM TWEB 2018): characters are classified and translated with nibble-indexed
// lookup tables (pshufb), and the 6-bit values packed with multiply-adds.
#include "CShardFlowKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static int detect_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (osxsave | avx)) != (osxsave | avx)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;  // the OS saves the SSE and AVX registers
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0;  // AVX2
}

static int vectorized = -1;

int shardflow_kernels_vectorized(void) {
    int known = __atomic_load_n(&vectorized, __ATOMIC_RELAXED);
    if (known < 0) {
        known = detect_avx2();
        __atomic_store_n(&vectorized, known, __ATOMIC_RELAXED);
    }
    return known;
}

__attribute__((target("avx2")))
static size_t decode_avx2(const uint8_t *src, size_t length, uint8_t *dst) {
    const __m256i lut_lo = _mm256_setr_epi8(
        0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
        0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
    const __m256i lut_hi = _mm256_setr_epi8(
        0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
        0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m256i lut_roll = _mm256_setr_epi8(
        0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m256i mask_2F = _mm256_set1_epi8(0x2f);
    const __m256i pack_shuffle = _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    size_t done = 0;
    while (length - done >= 48) {
        __m256i chars = _mm256_loadu_si256((const __m256i *)(src + done));
        const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(chars, 4), mask_2F);
        const __m256i lo_nibbles = _mm256_and_si256(chars, mask_2F);
        const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
        const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
        if (!_mm256_testz_si256(lo, hi)) break;  // a character outside the alphabet
        const __m256i eq_2F = _mm256_cmpeq_epi8(chars, mask_2F);
        const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2F, hi_nibbles));
        const __m256i values = _mm256_add_epi8(chars, roll);  // each byte its 6 bits
        const __m256i pairs = _mm256_maddubs_epi16(values, _mm256_set1_epi32(0x01400140));
        __m256i words = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
        words = _mm256_shuffle_epi8(words, pack_shuffle);
        words = _mm256_permutevar8x32_epi32(words, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1));
        _mm256_storeu_si256((__m256i *)dst, words);
        done += 32;
        dst += 24;
    }
    return done;
}

__attribute__((target("avx2")))
static size_t encode_avx2(const uint8_t *src, size_t length, uint8_t *dst) {
    const __m256i spread = _mm256_setr_epi8(
        1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
        1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    const __m256i offsets = _mm256_setr_epi8(
        65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0,
        65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);
    size_t done = 0;
    while (length - done >= 28) {
        // Twelve bytes per 128-bit lane.
        const __m128i low = _mm_loadu_si128((const __m128i *)(src + done));
        const __m128i high = _mm_loadu_si128((const __m128i *)(src + done + 12));
        __m256i in = _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
        in = _mm256_shuffle_epi8(in, spread);
        const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
        const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
        const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
        const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
        const __m256i values = _mm256_or_si256(t1, t3);  // each byte 6 bits
        __m256i indices = _mm256_subs_epu8(values, _mm256_set1_epi8(51));
        indices = _mm256_sub_epi8(indices, _mm256_cmpgt_epi8(values, _mm256_set1_epi8(25)));
        _mm256_storeu_si256((__m256i *)dst, _mm256_add_epi8(values, _mm256_shuffle_epi8(offsets, indices)));
        done += 24;
        dst += 32;
    }
    return done;
}

__attribute__((target("avx2")))
static size_t find_avx2(const uint8_t *bytes, size_t length) {
    const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\');
    size_t at = 0;
    while (length - at >= 32) {
        const __m256i chunk = _mm256_loadu_si256((const __m256i *)(bytes + at));
        const unsigned found = (unsigned)_mm256_movemask_epi8(
            _mm256_or_si256(_mm256_cmpeq_epi8(chunk, quote), _mm256_cmpeq_epi8(chunk, backslash)));
        if (found) return at + (size_t)__builtin_ctz(found);
        at += 32;
    }
    return at;
}

size_t shardflow_base64_decode_blocks(const uint8_t *src, size_t length, uint8_t *dst) {
    return shardflow_kernels_vectorized() ? decode_avx2(src, length, dst) : 0;
}

size_t shardflow_base64_encode_blocks(const uint8_t *src, size_t length, uint8_t *dst) {
    return shardflow_kernels_vectorized() ? encode_avx2(src, length, dst) : 0;
}

size_t shardflow_find_quote_or_backslash(const uint8_t *bytes, size_t length) {
    size_t at = 0;
    if (shardflow_kernels_vectorized()) {
        at = find_avx2(bytes, length);
        if (at < length && (bytes[at] == '"' || bytes[at] == '\\')) return at;
    }
    // SSE2 (every x86-64 has it) for what is left, then single bytes.
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    while (length - at >= 16) {
        const __m128i chunk = _mm_loadu_si128((const __m128i *)(bytes + at));
        const unsigned found = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, backslash)));
        if (found) return at + (size_t)__builtin_ctz(found);
        at += 16;
    }
    while (at < length && bytes[at] != '"' && bytes[at] != '\\') at++;
    return at;
}

#else

int shardflow_kernels_vectorized(void) { return 0; }

size_t shardflow_base64_decode_blocks(const uint8_t *src, size_t length, uint8_t *dst) {
    (void)src; (void)length; (void)dst;
    return 0;
}

size_t shardflow_base64_encode_blocks(const uint8_t *src, size_t length, uint8_t *dst) {
    (void)src; (void)length; (void)dst;
    return 0;
}

size_t shardflow_find_quote_or_backslash(const uint8_t *bytes, size_t length) {
    size_t at = 0;
    while (at < length && bytes[at] != '"' && bytes[at] != '\\') at++;
    return at;
}

#endif
