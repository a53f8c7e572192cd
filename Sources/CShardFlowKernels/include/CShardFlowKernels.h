// Byte kernels for ShardFlow's hot paths: base64 and JSON string scanning, 32 bytes a step with
// AVX2 where the processor has it (checked once at run time), nothing otherwise (the callers'
// portable code then does all the work). Each function does only the bulk and tells the caller
// how far it got, so the callers keep one place that handles tails, padding and errors.
#ifndef SHARDFLOW_KERNELS_H
#define SHARDFLOW_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Whether the vector kernels run on this processor (AVX2, enabled by the operating system).
int shardflow_kernels_vectorized(void);

/// Decodes base64 `src` (`length` characters) to `dst` in blocks of 32 characters (24 bytes)
/// while at least 48 characters remain, stopping before a block holding a character that is
/// not in the alphabet (padding included). Returns the characters decoded: a multiple of 32, 0
/// without the vector kernels. Writes up to 8 bytes past the decoded ones, which the caller
/// overwrites with the (at least 10) bytes of the remaining 16 characters or more.
size_t shardflow_base64_decode_blocks(const uint8_t *src, size_t length, uint8_t *dst);

/// Encodes `src` (`length` bytes) to base64 at `dst` in blocks of 24 bytes (32 characters)
/// while at least 28 bytes remain. Returns the bytes encoded: a multiple of 24, 0 without the
/// vector kernels.
size_t shardflow_base64_encode_blocks(const uint8_t *src, size_t length, uint8_t *dst);

/// The offset of the first '"' or '\\' in `bytes[0..<length]`, or `length` when there is none.
size_t shardflow_find_quote_or_backslash(const uint8_t *bytes, size_t length);

#endif
