// What ms_gan's two kernel sources share: a convolution's geometry, unfolding and folding (gemm_conv.cc), and the
// rounding to bfloat16 (used by both).

#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ms_gan {

struct Geometry {
  int64_t k, s, p;
  bool channel_major;  // the image is [C, N, H, W]: a discriminator's conv after a conv (a transposition fewer)
};

// The geometry travels in the shape of a small int32 tensor, [k, s, p + 1, L]: MindSpore infers every
// instance of one custom operator with the same shape function, which sees shapes, never values.
inline Geometry ReadGeometry(const int64_t *geom_shape) {
  return {geom_shape[0], geom_shape[1], geom_shape[2] - 1, geom_shape[3] == 2};
}

// image [N, C, H, W] (or [C, N, H, W]) -> cols [C * k * k, N, Ho, Wo]: float32, or rounded to bfloat16
void Unfold(const float *image, float *cols, const Geometry &g, int64_t n, int64_t c, int64_t h, int64_t w,
            int64_t ho, int64_t wo);
void Unfold(const float *image, uint16_t *cols, const Geometry &g, int64_t n, int64_t c, int64_t h, int64_t w,
            int64_t ho, int64_t wo);
// its adjoint, cols [C * k * k, N, Ho, Wo] -> image, each pixel the sum of the taps that read it
void Fold(const float *cols, float *image, const Geometry &g, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ho,
          int64_t wo);

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
  int64_t i = 0;
#if defined(__AVX512BF16__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(y + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 last = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(y + i, last, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(last, x + i)));
  }
  return;
#endif
  for (; i < n; ++i) y[i] = ToBF16(x[i]);
}

}  // namespace ms_gan
