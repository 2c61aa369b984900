// The rounding to bfloat16 of ms_gan's kernels (gemm.cc), one value or a run of them.

#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ms_gan {

// float32 -> bfloat16, rounded to nearest even, as the CPU's own conversion (VCVTNEPS2BF16) does it: a NaN stays
// a (quiet) NaN, and subnormals become zeros of their sign (bfloat16 keeps float32's exponent range, so only
// values below 1.2e-38 in magnitude are touched).
inline uint16_t ToBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// X [n] -> Y [n] by ToBF16, on the calling thread. With AVX512_BF16 (built with -march=native on such a CPU) 16 at
// a time by the CPU's own conversion, the last few under a mask.
inline void ToBF16Run(const float *x, uint16_t *y, int64_t n) {
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(y + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 last = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(y + i, last, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(last, x + i)));
  }
#else
  for (int64_t i = 0; i < n; ++i) y[i] = ToBF16(x[i]);
#endif
}

}  // namespace ms_gan
