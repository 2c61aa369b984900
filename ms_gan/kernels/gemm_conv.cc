// CPU kernels for ms_gan's GEMM convolutions (ms_gan/kernels/__init__.py): the memory reshuffles around
// the matrix products, and LeakyReLU. gemm.cc does the arithmetic; these only move numbers.
//
// Layouts (all float32, row-major):
//   image  [N, C, H, W]            the usual NCHW activation, or [C, N, H, W] (channel-major, L = 2 below)
//   cols   [C * k * k, N, Ho, Wo]  one row per (channel, kernel tap), one column per output pixel
//   geom   int32 [k, s, p + 1, L]  kernel k, stride s, padding p, image layout L, in its shape (values unused)
// Im2Col(image, geom) -> cols and Col2Im(cols, geom, like[H, W]) -> image are adjoint: the gradient of
// one is the other. SwapNC exchanges the first two axes ([A, B, ...] -> [B, A, ...]), its own adjoint.
//
// Each output element is written by one thread in a fixed order, so results are deterministic.
// Signature: MindSpore's AOT custom operator interface (params holds the inputs, then the output).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

struct Geometry {
  int64_t k, s, p;
  bool channel_major;  // the image is [C, N, H, W]: a discriminator's conv after a conv (a transposition fewer)
};

// The geometry travels in the shape of a small int32 tensor, [k, s, p + 1, L]: MindSpore infers every
// instance of one custom operator with the same shape function, which sees shapes, never values.
Geometry ReadGeometry(const int64_t *geom_shape) {
  return {geom_shape[0], geom_shape[1], geom_shape[2] - 1, geom_shape[3] == 2};
}

// where plane (sample b, channel ch) of an image of n samples and c channels starts, in planes
int64_t Plane(bool channel_major, int64_t n, int64_t c, int64_t b, int64_t ch) {
  return channel_major ? ch * n + b : b * c + ch;
}

// The outputs o in [lo, hi) whose input o * s - p + tap lies inside [0, size).
void ValidRange(int64_t out_size, int64_t size, int64_t tap, const Geometry &g, int64_t *lo, int64_t *hi) {
  const int64_t shift = tap - g.p;  // input = o * s + shift
  *lo = shift >= 0 ? 0 : (-shift + g.s - 1) / g.s;
  *hi = size - shift <= 0 ? 0 : (size - shift + g.s - 1) / g.s;
  if (*hi > out_size) *hi = out_size;
  if (*lo > *hi) *lo = *hi;
}

bool IsFloat32(const char *dtype) { return std::strcmp(dtype, "float32") == 0 || std::strcmp(dtype, "float") == 0; }

// the longest output row the halving paths' row buffers take (wider layers take the general path)
constexpr int64_t kMaxRun = 256;

// The geometry of every stride-2 layer but one in ms_gan's models: a 4x4 kernel, stride 2, padding 1, between
// H x W and H/2 x W/2. Its unfolding and folding have a path of their own (below), several times faster than the
// general loops on the dcgan's layers (benchmarks/kernels/bench_fused.py).
bool IsHalving(const Geometry &g, int64_t h, int64_t w, int64_t ho, int64_t wo) {
  return g.k == 4 && g.s == 2 && g.p == 1 && h == 2 * ho && w == 2 * wo && wo < kMaxRun;
}

// Im2Col for IsHalving: tap (ky, kx) of output (oy, ox) reads input (2 oy - 1 + ky, 2 ox - 1 + kx). Each input row
// is split once into its even and odd columns, with a zero where a tap falls off either edge; each of the four
// taps kx then copies a contiguous run of one of them (kx 0: odd from ox - 1, 1: even from ox, 2: odd from ox,
// 3: even from ox + 1).
void Im2ColHalving(const float *image, float *cols, bool cm, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t ho = h / 2, wo = w / 2, tap = n * ho * wo;  // tap: from one tap's row of cols to the next
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t b = 0; b < n; ++b) {
      const float *plane = image + Plane(cm, n, c, b, ch) * h * w;
      float *first = cols + (ch * 16 * n + b) * ho * wo;  // tap (0, 0) of this plane
      for (int64_t oy = 0; oy < ho; ++oy) {
        for (int64_t ky = 0; ky < 4; ++ky) {
          float *r0 = first + ky * 4 * tap + oy * wo, *r1 = r0 + tap, *r2 = r1 + tap, *r3 = r2 + tap;
          const int64_t iy = 2 * oy - 1 + ky;
          if (iy < 0 || iy >= h) {
            for (int64_t m = 0; m < wo; ++m) r0[m] = r1[m] = r2[m] = r3[m] = 0.0f;
            continue;
          }
          const float *in = plane + iy * w;
          float even[kMaxRun + 1], odd[kMaxRun + 1];  // even[m] = in[2m], odd[m + 1] = in[2m + 1]
          odd[0] = even[wo] = 0.0f;
          for (int64_t m = 0; m < wo; ++m) {
            even[m] = in[2 * m];
            odd[m + 1] = in[2 * m + 1];
          }
          for (int64_t m = 0; m < wo; ++m) {
            r0[m] = odd[m];
            r1[m] = even[m];
            r2[m] = odd[m + 1];
            r3[m] = even[m + 1];
          }
        }
      }
    }
  }
}

// Col2Im for IsHalving, its adjoint: output row y gathers the two kernel rows ky = y + 1 - 2 oy, and within them,
// its even columns taps 1 and 3, its odd columns taps 0 and 2. Each row is summed in two contiguous halves and
// written once, interleaved.
void Col2ImHalving(const float *cols, float *image, bool cm, int64_t n, int64_t c, int64_t h, int64_t w) {
  const int64_t ho = h / 2, wo = w / 2, tap = n * ho * wo;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t b = 0; b < n; ++b) {
      float *plane = image + Plane(cm, n, c, b, ch) * h * w;
      const float *first = cols + (ch * 16 * n + b) * ho * wo;
      for (int64_t y = 0; y < h; ++y) {
        float even[kMaxRun], odd[kMaxRun];
        for (int64_t m = 0; m < wo; ++m) even[m] = odd[m] = 0.0f;
        for (int64_t ky = (y + 1) % 2; ky < 4; ky += 2) {
          const int64_t oy = (y + 1 - ky) / 2;
          if (oy < 0 || oy >= ho) continue;
          const float *r0 = first + ky * 4 * tap + oy * wo, *r1 = r0 + tap, *r2 = r1 + tap, *r3 = r2 + tap;
          even[0] += r1[0];
          for (int64_t m = 1; m < wo; ++m) even[m] += r1[m] + r3[m - 1];
          for (int64_t m = 0; m + 1 < wo; ++m) odd[m] += r2[m] + r0[m + 1];
          odd[wo - 1] += r2[wo - 1];
        }
        float *out = plane + y * w;
        for (int64_t m = 0; m < wo; ++m) {
          out[2 * m] = even[m];
          out[2 * m + 1] = odd[m];
        }
      }
    }
  }
}

}  // namespace

// Im2Col reads each (sample, channel) plane once: its rows are first split by column phase (padded column j = x + p
// goes to phase j % s, slot j / s, zeros outside the image), so that each tap's output row is one contiguous run
// of the split row (tap kx: phase kx % s from slot kx / s on). Planes go channel by channel, samples inner, so
// each thread writes its k * k row blocks front to back. (Stepping through every tap of a channel for all samples
// at once, as before, read each plane k * k times from further out in the cache hierarchy.)
extern "C" int Im2Col(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                      void *extra) {
  if (nparam != 3 || ndims[0] != 4 || ndims[1] != 4 || ndims[2] != 4 || !IsFloat32(dtypes[0])) return 1;
  const float *image = static_cast<const float *>(params[0]);
  const Geometry g = ReadGeometry(shapes[1]);
  const bool cm = g.channel_major;
  float *cols = static_cast<float *>(params[2]);
  const int64_t n = shapes[0][cm ? 1 : 0], c = shapes[0][cm ? 0 : 1], h = shapes[0][2], w = shapes[0][3];
  const int64_t ho = shapes[2][2], wo = shapes[2][3];
  if (IsHalving(g, h, w, ho, wo)) {
    Im2ColHalving(image, cols, cm, n, c, h, w);
    return 0;
  }
  // slots per phase: enough for every tap's run and every input column
  const int64_t len = std::max(wo + (g.k - 1) / g.s, (w - 1 + g.p) / g.s + 1), split_row = g.s * len;
#pragma omp parallel
  {
    std::vector<float> split(h * split_row);  // this thread's plane, each row split into its phases
#pragma omp for collapse(2) schedule(static)
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t b = 0; b < n; ++b) {
        const float *plane = image + Plane(cm, n, c, b, ch) * h * w;
        for (int64_t iy = 0; iy < h; ++iy) {
          float *phases = split.data() + iy * split_row;
          for (int64_t q = 0; q < g.s; ++q)
            for (int64_t m = 0; m < len; ++m) {
              const int64_t x = m * g.s + q - g.p;
              phases[q * len + m] = x >= 0 && x < w ? plane[iy * w + x] : 0.0f;
            }
        }
        for (int64_t ky = 0; ky < g.k; ++ky) {
          for (int64_t kx = 0; kx < g.k; ++kx) {
            const int64_t row = (ch * g.k + ky) * g.k + kx;
            const int64_t offset = (kx % g.s) * len + kx / g.s;
            float *out = cols + (row * n + b) * ho * wo;
            for (int64_t oy = 0; oy < ho; ++oy) {
              const int64_t iy = oy * g.s - g.p + ky;
              float *out_row = out + oy * wo;
              if (iy < 0 || iy >= h) {
                std::memset(out_row, 0, sizeof(float) * wo);
                continue;
              }
              const float *run = split.data() + iy * split_row + offset;
              for (int64_t ox = 0; ox < wo; ++ox) out_row[ox] = run[ox];
            }
          }
        }
      }
    }
  }
  return 0;
}

extern "C" int Col2Im(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                      void *extra) {
  if (nparam != 4 || ndims[0] != 4 || ndims[1] != 4 || ndims[3] != 4 || !IsFloat32(dtypes[0])) return 1;
  const float *cols = static_cast<const float *>(params[0]);
  const Geometry g = ReadGeometry(shapes[1]);
  const bool cm = g.channel_major;
  float *image = static_cast<float *>(params[3]);
  const int64_t n = shapes[3][cm ? 1 : 0], c = shapes[3][cm ? 0 : 1], h = shapes[3][2], w = shapes[3][3];
  const int64_t ho = shapes[0][2], wo = shapes[0][3];
  if (IsHalving(g, h, w, ho, wo)) {
    Col2ImHalving(cols, image, cm, n, c, h, w);
    return 0;
  }
  // one (sample, channel) plane per task: every tap that lands in it is summed by the same thread. Channels outer,
  // samples inner: consecutive planes read consecutive runs of each tap's row.
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t b = 0; b < n; ++b) {
      float *plane = image + Plane(cm, n, c, b, ch) * h * w;
      std::memset(plane, 0, sizeof(float) * h * w);
      for (int64_t ky = 0; ky < g.k; ++ky) {
        for (int64_t kx = 0; kx < g.k; ++kx) {
          const int64_t row = (ch * g.k + ky) * g.k + kx;
          const float *in = cols + (row * n + b) * ho * wo;
          int64_t oy_lo, oy_hi, ox_lo, ox_hi;
          ValidRange(ho, h, ky, g, &oy_lo, &oy_hi);
          ValidRange(wo, w, kx, g, &ox_lo, &ox_hi);
          for (int64_t oy = oy_lo; oy < oy_hi; ++oy) {
            float *out_row = plane + (oy * g.s - g.p + ky) * w + kx - g.p;
            const float *in_row = in + oy * wo;
            for (int64_t ox = ox_lo; ox < ox_hi; ++ox) out_row[ox * g.s] += in_row[ox];
          }
        }
      }
    }
  }
  return 0;
}

extern "C" int SwapNC(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                      void *extra) {
  if (nparam != 2 || ndims[0] < 2 || !IsFloat32(dtypes[0])) return 1;
  const float *in = static_cast<const float *>(params[0]);
  float *out = static_cast<float *>(params[1]);
  const int64_t a = shapes[0][0], b = shapes[0][1];
  int64_t inner = 1;
  for (int d = 2; d < ndims[0]; ++d) inner *= shapes[0][d];
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t j = 0; j < b; ++j) {
    for (int64_t i = 0; i < a; ++i) {
      std::memcpy(out + (j * a + i) * inner, in + (i * b + j) * inner, sizeof(float) * inner);
    }
  }
  return 0;
}

// LeakyReLU(x, slope[1]) = x > 0 ? x : slope * x, and its gradient LeakyReLUGrad(x, slope, dy) = dy * (x > 0 ?
// 1 : slope): one pass each, where MindSpore composes it from Maximum, whose backward takes several kernels.
// Below kThreadedSize values (the fc discriminator's), one thread: waking OpenMP's threads costs more than the pass.
constexpr int64_t kThreadedSize = 1 << 18;
extern "C" int LeakyReLU(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                         void *extra) {
  if (nparam != 3 || !IsFloat32(dtypes[0])) return 1;
  const float *x = static_cast<const float *>(params[0]);
  const float slope = *static_cast<const float *>(params[1]);
  float *y = static_cast<float *>(params[2]);
  int64_t size = 1;
  for (int d = 0; d < ndims[0]; ++d) size *= shapes[0][d];
#pragma omp parallel for schedule(static) if (size >= kThreadedSize)
  for (int64_t i = 0; i < size; ++i) y[i] = x[i] * (x[i] > 0.0f ? 1.0f : slope);
  return 0;
}

extern "C" int LeakyReLUGrad(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                             void *stream, void *extra) {
  if (nparam != 4 || !IsFloat32(dtypes[0])) return 1;
  const float *x = static_cast<const float *>(params[0]);
  const float slope = *static_cast<const float *>(params[1]);
  const float *dy = static_cast<const float *>(params[2]);
  float *dx = static_cast<float *>(params[3]);
  int64_t size = 1;
  for (int d = 0; d < ndims[0]; ++d) size *= shapes[0][d];
#pragma omp parallel for schedule(static) if (size >= kThreadedSize)
  for (int64_t i = 0; i < size; ++i) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : slope);
  return 0;
}

// The conditional generator's BatchNorm tail (models/cgan.py): ScaleShiftReLU(x [N, C, H, W], s [N, C], b [N, C])
// = max(x * s + b, 0), each sample and channel with its own scale and shift, in one pass where MindSpore takes a
// broadcast (or a MatMul spreading s and b over H and W), a Mul, an Add and a ReLU. Its gradient,
// ScaleShiftReLUGrad(x, s, b, dy) -> (dx, ds, db) with g = dy where x * s + b > 0 (else 0): dx = g * s,
// ds = sum over H, W of g * x, db = sum of g, is one pass too. One thread per (sample, channel) plane, its sums in
// a fixed order: deterministic.
extern "C" int ScaleShiftReLU(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                              void *stream, void *extra) {
  if (nparam != 4 || ndims[0] != 4 || ndims[1] != 2 || ndims[2] != 2 || !IsFloat32(dtypes[0]) ||
      !IsFloat32(dtypes[1]) || !IsFloat32(dtypes[2]))
    return 1;
  const int64_t planes = shapes[0][0] * shapes[0][1], size = shapes[0][2] * shapes[0][3];
  if (shapes[1][0] * shapes[1][1] != planes || shapes[2][0] * shapes[2][1] != planes) return 1;
  const float *x = static_cast<const float *>(params[0]), *s = static_cast<const float *>(params[1]);
  const float *b = static_cast<const float *>(params[2]);
  float *y = static_cast<float *>(params[3]);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float scale = s[p], shift = b[p];
    const float *in = x + p * size;
    float *out = y + p * size;
    for (int64_t i = 0; i < size; ++i) {
      const float v = in[i] * scale + shift;
      out[i] = v > 0.0f ? v : 0.0f;
    }
  }
  return 0;
}

constexpr int64_t kLanes = 16;

extern "C" int ScaleShiftReLUGrad(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                                  void *stream, void *extra) {
  if (nparam != 7 || ndims[0] != 4 || ndims[1] != 2 || ndims[2] != 2 || ndims[3] != 4 || !IsFloat32(dtypes[0]) ||
      !IsFloat32(dtypes[1]) || !IsFloat32(dtypes[2]) || !IsFloat32(dtypes[3]))
    return 1;
  const int64_t planes = shapes[0][0] * shapes[0][1], size = shapes[0][2] * shapes[0][3];
  if (shapes[1][0] * shapes[1][1] != planes || shapes[2][0] * shapes[2][1] != planes ||
      shapes[3][0] * shapes[3][1] != planes || shapes[3][2] * shapes[3][3] != size)
    return 1;
  const float *x = static_cast<const float *>(params[0]), *s = static_cast<const float *>(params[1]);
  const float *b = static_cast<const float *>(params[2]), *dy = static_cast<const float *>(params[3]);
  float *dx = static_cast<float *>(params[4]), *ds = static_cast<float *>(params[5]);
  float *db = static_cast<float *>(params[6]);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float scale = s[p], shift = b[p];
    const float *in = x + p * size, *grad = dy + p * size;
    float *out = dx + p * size;
    // 16 running sums, one per lane, so that the compiler vectorises the loop without reordering a sum
    float sum_gx[kLanes] = {}, sum_g[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= size; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) {
        const float g = in[i + j] * scale + shift > 0.0f ? grad[i + j] : 0.0f;
        out[i + j] = g * scale;
        sum_gx[j] += g * in[i + j];
        sum_g[j] += g;
      }
    for (int64_t j = 0; i < size; ++i, ++j) {
      const float g = in[i] * scale + shift > 0.0f ? grad[i] : 0.0f;
      out[i] = g * scale;
      sum_gx[j] += g * in[i];
      sum_g[j] += g;
    }
    float total_gx = 0.0f, total_g = 0.0f;
    for (int64_t j = 0; j < kLanes; ++j) {
      total_gx += sum_gx[j];
      total_g += sum_g[j];
    }
    ds[p] = total_gx;
    db[p] = total_g;
  }
  return 0;
}

// BatchNorm in training, then a scale, a shift and (leaky) ReLU, in two passes forward and two backward (the
// generators' BatchNorm + ReLU, the conditional generator's BatchNorm + per-digit scale and shift + ReLU, and the
// discriminators' BatchNorm + LeakyReLU):
//   BatchNormScaleShiftReLU(x [N, C, H, W], s [S, C], t [S, C], settings) -> (y [N, C, H, W], mean [C], var [C]),
//   y = f(x_hat * s + t), f(v) = v > 0 ? v : slope * v, x_hat = (x - mean) / sqrt(var + eps) with the batch's
//   per-channel mean and biased variance; S = 1 (one scale and shift per channel) or N (one per sample and channel).
//   BatchNormScaleShiftReLUGrad(x, s, t, mean, var, settings, dy) -> (dx, ds, dt), with g = dy f'(x_hat * s + t):
//   dt = sum of g, ds = sum of g * x_hat (over H, W, and over N when S = 1), and
//   dx = (g * s - sum(g * s) / M - x_hat * sum(g * s * x_hat) / M) / sqrt(var + eps), sums per channel, M = N H W.
// settings [2, 1, L]: settings[0] = eps, settings[1] = slope, and its shape says the layouts (as a geometry's does):
// L = 1, x and y (and dx, dy) [N, C, H, W]; L = 2, y [C, N, H, W], channel-major, as a GEMM convolution takes its
// input (a transposition fewer each way); L = 3, x and y both channel-major, as a discriminator's GEMM convolution
// gives its output and takes its input (the mean and variance stay [C]).
// MindSpore's BatchNorm, ReLU and their gradients (and the conditional generator's separate scale and shift) each
// read and write the whole activation. Sums go plane by plane (each plane's mean and squared deviations from it,
// combined in a fixed order), so results are deterministic and the variance does not cancel.
namespace {

// the sum of f(i) over i < size, in kLanes running sums: vectorised, and in a fixed order
template <typename F>
float LaneSum(int64_t size, F f) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= size; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += f(i + j);
  for (int64_t j = 0; i < size; ++i, ++j) lanes[j] += f(i);
  float total = 0.0f;
  for (int64_t j = 0; j < kLanes; ++j) total += lanes[j];
  return total;
}

// 1 / sqrt(var + eps); NaN where the variance overflowed (where 1 / sqrt(inf) = 0 would hide it, as MindSpore's
// BatchNorm does not: the loss scaler and the divergence check must see it)
float InverseStd(float var, float eps) {
  return std::isfinite(var) ? 1.0f / std::sqrt(var + eps) : std::numeric_limits<float>::quiet_NaN();
}

struct Norm {
  int64_t n, c, size, s_rows;  // size: H * W; s_rows: S
  const float *x, *s, *t;
  float eps, slope;
  bool channel_major;     // y and dy [C, N, H, W]
  bool channel_major_in;  // x and dx [C, N, H, W] too
  // params: x, s, t, then the settings at SETTINGS
  bool Read(void **params, int *ndims, int64_t **shapes, const char **dtypes, int settings) {
    if (ndims[0] != 4 || ndims[1] != 2 || ndims[2] != 2 || ndims[settings] != 3 || !IsFloat32(dtypes[0]) ||
        !IsFloat32(dtypes[1]) || !IsFloat32(dtypes[2]) || !IsFloat32(dtypes[settings]))
      return false;
    const int64_t *shape = shapes[settings];
    if (shape[0] != 2 || shape[1] != 1 || shape[2] < 1 || shape[2] > 3) return false;
    channel_major = shape[2] >= 2, channel_major_in = shape[2] == 3;
    n = shapes[0][channel_major_in ? 1 : 0], c = shapes[0][channel_major_in ? 0 : 1];
    size = shapes[0][2] * shapes[0][3], s_rows = shapes[1][0];
    if (shapes[1][1] != c || shapes[2][0] != s_rows || shapes[2][1] != c || (s_rows != 1 && s_rows != n))
      return false;
    const float *values = static_cast<const float *>(params[settings]);
    eps = values[0], slope = values[shape[2]];
    x = static_cast<const float *>(params[0]), s = static_cast<const float *>(params[1]);
    t = static_cast<const float *>(params[2]);
    return true;
  }
  // where plane (sample b, channel ch) starts in x (and dx), and in y (and dy)
  int64_t XPlane(int64_t b, int64_t ch) const { return (channel_major_in ? ch * n + b : b * c + ch) * size; }
  int64_t YPlane(int64_t b, int64_t ch) const { return (channel_major ? ch * n + b : b * c + ch) * size; }
  // its scale and shift
  int64_t Index(int64_t b, int64_t ch) const { return (s_rows == 1 ? 0 : b * c) + ch; }
  // the sample and channel of x's plane P in memory order (each kernel goes through x front to back)
  int64_t Sample(int64_t p) const { return channel_major_in ? p % n : p / c; }
  int64_t Channel(int64_t p) const { return channel_major_in ? p / n : p % c; }
};

}  // namespace

extern "C" int BatchNormScaleShiftReLU(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                                       void *stream, void *extra) {
  Norm nm;
  if (nparam != 7 || !nm.Read(params, ndims, shapes, dtypes, 3)) return 1;
  float *y = static_cast<float *>(params[4]), *mean = static_cast<float *>(params[5]);
  float *var = static_cast<float *>(params[6]);
  const int64_t n = nm.n, c = nm.c, size = nm.size, planes = n * c;
  std::vector<double> plane_mean(planes), plane_m2(planes);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {  // x's planes in memory order
    const float *in = nm.x + p * size;
    const float m = LaneSum(size, [&](int64_t i) { return in[i]; }) / size;
    const int64_t q = nm.Sample(p) * c + nm.Channel(p);
    plane_mean[q] = m;
    plane_m2[q] = LaneSum(size, [&](int64_t i) { return (in[i] - m) * (in[i] - m); });
  }
  // per channel, over samples in order: mean, then squared deviations (Chan et al.'s pairwise combination)
  std::vector<float> rstd(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    double m = 0.0, m2 = 0.0;
    for (int64_t b = 0; b < n; ++b) m += plane_mean[b * c + ch];
    m /= n;
    for (int64_t b = 0; b < n; ++b) {
      const double d = plane_mean[b * c + ch] - m;
      m2 += plane_m2[b * c + ch] + size * d * d;
    }
    mean[ch] = static_cast<float>(m);
    var[ch] = static_cast<float>(m2 / (n * size));
    rstd[ch] = InverseStd(var[ch], nm.eps);
  }
  const float slope = nm.slope;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {  // x's planes in memory order
    const int64_t b = nm.Sample(p), ch = nm.Channel(p);
    const int64_t q = nm.Index(b, ch);
    const float a = rstd[ch] * nm.s[q], shift = nm.t[q] - mean[ch] * a;  // y = f(x * a + shift)
    const float *in = nm.x + nm.XPlane(b, ch);
    float *out = y + nm.YPlane(b, ch);
    for (int64_t i = 0; i < size; ++i) {
      const float v = in[i] * a + shift;
      out[i] = v > 0.0f ? v : slope * v;
    }
  }
  return 0;
}

extern "C" int BatchNormScaleShiftReLUGrad(int nparam, void **params, int *ndims, int64_t **shapes,
                                           const char **dtypes, void *stream, void *extra) {
  Norm nm;
  if (nparam != 10 || !nm.Read(params, ndims, shapes, dtypes, 5)) return 1;
  const float *mean = static_cast<const float *>(params[3]), *var = static_cast<const float *>(params[4]);
  const float *dy = static_cast<const float *>(params[6]);
  float *dx = static_cast<float *>(params[7]), *ds = static_cast<float *>(params[8]);
  float *dt = static_cast<float *>(params[9]);
  const int64_t n = nm.n, c = nm.c, size = nm.size, planes = n * c;
  const float slope = nm.slope;
  std::vector<float> rstd(c);
  for (int64_t ch = 0; ch < c; ++ch) rstd[ch] = InverseStd(var[ch], nm.eps);
  // pass 1, per plane: sum of g and of g * x_hat (written out, not through LaneSum: GCC 12 at -O3 -march=native
  // vectorised that form of this loop wrongly)
  std::vector<float> plane_g(planes), plane_gx(planes);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {  // x's planes in memory order
    const int64_t b = nm.Sample(p), ch = nm.Channel(p);
    const int64_t k = b * c + ch, q = nm.Index(b, ch);  // k: the sums' index, sample-major
    const float r = rstd[ch], m = mean[ch], a = r * nm.s[q], shift = nm.t[q] - m * a;
    const float *in = nm.x + nm.XPlane(b, ch), *grad = dy + nm.YPlane(b, ch);
    float sum_g[kLanes] = {}, sum_gx[kLanes] = {};  // as in LaneSum, two sums in one pass
    int64_t i = 0;
    for (; i + kLanes <= size; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) {
        const float g = in[i + j] * a + shift > 0.0f ? grad[i + j] : slope * grad[i + j];
        sum_g[j] += g;
        sum_gx[j] += g * (in[i + j] - m) * r;
      }
    for (int64_t j = 0; i < size; ++i, ++j) {
      const float g = in[i] * a + shift > 0.0f ? grad[i] : slope * grad[i];
      sum_g[j] += g;
      sum_gx[j] += g * (in[i] - m) * r;
    }
    plane_g[k] = plane_gx[k] = 0.0f;
    for (int64_t j = 0; j < kLanes; ++j) plane_g[k] += sum_g[j], plane_gx[k] += sum_gx[j];
  }
  // per channel: the means over N, H, W of g * s and of g * s * x_hat; dt and ds
  std::vector<float> mean_gs(c), mean_gsx(c);
  for (int64_t q = 0; q < nm.s_rows * c; ++q) ds[q] = dt[q] = 0.0f;
  for (int64_t ch = 0; ch < c; ++ch) {
    double gs = 0.0, gsx = 0.0;
    for (int64_t b = 0; b < n; ++b) {
      const int64_t p = b * c + ch, q = nm.Index(b, ch);
      gs += double(plane_g[p]) * nm.s[q];
      gsx += double(plane_gx[p]) * nm.s[q];
      dt[q] += plane_g[p];
      ds[q] += plane_gx[p];
    }
    mean_gs[ch] = static_cast<float>(gs / (n * size));
    mean_gsx[ch] = static_cast<float>(gsx / (n * size));
  }
  // pass 2: dx
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {  // x's planes in memory order
    const int64_t b = nm.Sample(p), ch = nm.Channel(p);
    const int64_t q = nm.Index(b, ch);
    const float r = rstd[ch], m = mean[ch], sc = nm.s[q], a = r * sc, shift = nm.t[q] - m * a;
    const float gs = mean_gs[ch], gsx = mean_gsx[ch];
    const float *in = nm.x + nm.XPlane(b, ch), *grad = dy + nm.YPlane(b, ch);
    float *out = dx + nm.XPlane(b, ch);
    for (int64_t i = 0; i < size; ++i) {
      const float g = in[i] * a + shift > 0.0f ? grad[i] : slope * grad[i];
      out[i] = r * (g * sc - gs - (in[i] - m) * r * gsx);
    }
  }
  return 0;
}

// The fc generator's BatchNorm1d + ReLU, on features [N, C] (models/fc.py), in training:
//   BatchNorm1dReLU(x [N, C], gamma [C], beta [C], settings [2]) -> (y [N, C], mean [C], var [C]) and
//   BatchNorm1dReLUGrad(x, gamma, beta, mean, var, settings, dy) -> (dx, dgamma, dbeta),
// the formulas of BatchNormScaleShiftReLU(Grad) with H = W = 1 and one scale and shift per channel.
// These activations are small (at most [128, 1024], 0.5 MB), so the kernels run on the calling thread: an OpenMP
// region's wake-up costs more here than the work (docs/kernels.md). Each sum runs over the samples in order,
// every channel's in its own lane, so results are deterministic; the variance is the mean of squared deviations.
namespace {

struct Norm1d {
  int64_t n, c;
  const float *x, *gamma, *beta;
  float eps, slope;
  // params: x, gamma, beta, then the settings at SETTINGS
  bool Read(void **params, int *ndims, int64_t **shapes, const char **dtypes, int settings) {
    if (ndims[0] != 2 || ndims[1] != 1 || ndims[2] != 1 || ndims[settings] != 1 || shapes[settings][0] != 2 ||
        !IsFloat32(dtypes[0]) || !IsFloat32(dtypes[1]) || !IsFloat32(dtypes[2]) || !IsFloat32(dtypes[settings]))
      return false;
    n = shapes[0][0], c = shapes[0][1];
    if (n < 1 || shapes[1][0] != c || shapes[2][0] != c) return false;
    const float *values = static_cast<const float *>(params[settings]);
    eps = values[0], slope = values[1];
    x = static_cast<const float *>(params[0]), gamma = static_cast<const float *>(params[1]);
    beta = static_cast<const float *>(params[2]);
    return true;
  }
};

}  // namespace

extern "C" int BatchNorm1dReLU(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                               void *stream, void *extra) {
  Norm1d nm;
  if (nparam != 7 || !nm.Read(params, ndims, shapes, dtypes, 3)) return 1;
  // __restrict: no output overlaps an input, which lets GCC vectorise the loops over channels
  float *__restrict y = static_cast<float *>(params[4]), *__restrict mean = static_cast<float *>(params[5]);
  float *__restrict var = static_cast<float *>(params[6]);
  const int64_t n = nm.n, c = nm.c;
  const float *__restrict x = nm.x;
  std::vector<float> scale(c), offset(c);  // y = f(x * a + shift)
  float *__restrict a = scale.data(), *__restrict shift = offset.data();
  for (int64_t ch = 0; ch < c; ++ch) mean[ch] = var[ch] = 0.0f;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) mean[ch] += x[b * c + ch];
  for (int64_t ch = 0; ch < c; ++ch) mean[ch] /= n;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float d = x[b * c + ch] - mean[ch];
      var[ch] += d * d;
    }
  for (int64_t ch = 0; ch < c; ++ch) {
    var[ch] /= n;
    a[ch] = InverseStd(var[ch], nm.eps) * nm.gamma[ch];
    shift[ch] = nm.beta[ch] - mean[ch] * a[ch];
  }
  const float slope = nm.slope;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float v = x[b * c + ch] * a[ch] + shift[ch];
      y[b * c + ch] = v > 0.0f ? v : slope * v;
    }
  return 0;
}

extern "C" int BatchNorm1dReLUGrad(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                                   void *stream, void *extra) {
  Norm1d nm;
  if (nparam != 10 || !nm.Read(params, ndims, shapes, dtypes, 5)) return 1;
  const float *__restrict mean = static_cast<const float *>(params[3]);
  const float *__restrict var = static_cast<const float *>(params[4]);
  const float *__restrict dy = static_cast<const float *>(params[6]);
  float *__restrict dx = static_cast<float *>(params[7]), *__restrict dgamma = static_cast<float *>(params[8]);
  float *__restrict dbeta = static_cast<float *>(params[9]);
  const int64_t n = nm.n, c = nm.c;
  const float *__restrict x = nm.x, *__restrict gamma = nm.gamma;
  const float slope = nm.slope;
  std::vector<float> per_channel(5 * c);  // 1 / sqrt(var + eps), a and shift as forward, the two means below
  float *__restrict rstd = per_channel.data(), *__restrict a = rstd + c, *__restrict shift = a + c;
  float *__restrict mean_gs = shift + c, *__restrict mean_gsx = mean_gs + c;
  for (int64_t ch = 0; ch < c; ++ch) {
    rstd[ch] = InverseStd(var[ch], nm.eps);
    a[ch] = rstd[ch] * gamma[ch];
    shift[ch] = nm.beta[ch] - mean[ch] * a[ch];
    dgamma[ch] = dbeta[ch] = 0.0f;
  }
  // g = dy f'(x_hat * gamma + beta); dbeta = sum of g, dgamma = sum of g * x_hat
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float v = x[b * c + ch], g = v * a[ch] + shift[ch] > 0.0f ? dy[b * c + ch] : slope * dy[b * c + ch];
      dbeta[ch] += g;
      dgamma[ch] += g * (v - mean[ch]) * rstd[ch];
    }
  for (int64_t ch = 0; ch < c; ++ch) {
    mean_gs[ch] = dbeta[ch] * gamma[ch] / n;
    mean_gsx[ch] = dgamma[ch] * gamma[ch] / n;
  }
  // dx = (g * gamma - mean(g * gamma) - x_hat * mean(g * gamma * x_hat)) / sqrt(var + eps)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const float v = x[b * c + ch], g = v * a[ch] + shift[ch] > 0.0f ? dy[b * c + ch] : slope * dy[b * c + ch];
      const float r = rstd[ch];
      dx[b * c + ch] = r * (g * gamma[ch] - mean_gs[ch] - (v - mean[ch]) * r * mean_gsx[ch]);
    }
  return 0;
}
