// Matrix products for ms_gan's CPU layers (ms_gan/kernels/__init__.py), through oneDNN's sgemm: the oneDNN that
// MindSpore itself ships (mindspore/lib/libdnnl.so.3) and runs its CPU convolutions with.
//
// Why not MindSpore's MatMul: MindSpore 2.10's CPU MatMul multiplies the dcgan's conv products well below the rate
// oneDNN's sgemm reaches, one call per core (benchmarks/kernels/bench_products.py measures both). MindSpore's oneDNN is built with the
// "threadpool" runtime and no pool is handed to it here, so one dnnl_sgemm call runs on one thread: the products
// are split into one block per OpenMP thread, each block one sequential call.
//
// MatMulNN(a, b) = a @ b, MatMulNT(a, b) = a @ b^T, MatMulTN(a, b) = a^T @ b, all float32, 2-D, row-major. The
// gradient of each is two of these three, so they differentiate any number of times (WGAN-GP).
// MatMulNN16, MatMulNT16, MatMulTN16: the same products with the operands rounded to bfloat16 (to nearest even)
// and float32 accumulation and output, through oneDNN's gemm_bf16bf16f32 (AMX or AVX512_BF16 inside).
// Blocks are fixed by the shapes and the thread count and summed in a fixed order: results are deterministic.

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "kernels.h"

extern "C" int dnnl_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
extern "C" int dnnl_gemm_bf16bf16f32(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha,
                                     const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta,
                                     float *c, int64_t ldc);

namespace {

bool IsFloat32(const char *dtype) { return std::strcmp(dtype, "float32") == 0 || std::strcmp(dtype, "float") == 0; }

// Below this many multiply-adds a product runs as one call: splitting costs more than it saves.
constexpr int64_t kSplitWork = int64_t(1) << 18;

// one oneDNN call, float32 or bfloat16 operands, float32 c
int Call(char ta, char tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
         float *c, int64_t ldc) {
  return dnnl_sgemm(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
int Call(char ta, char tb, int64_t m, int64_t n, int64_t k, const uint16_t *a, int64_t lda, const uint16_t *b,
         int64_t ldb, float *c, int64_t ldc) {
  return dnnl_gemm_bf16bf16f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

// c [m, n] = op(a) @ op(b), op(a) [m, k], op(b) [k, n], row-major; ta / tb: a / b are stored transposed.
template <typename T>
int Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T *a, const T *b, float *c) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  const char tra = ta ? 'T' : 'N', trb = tb ? 'T' : 'N';
  int64_t parts = std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(1, m * n * k / kSplitWork));
  if (parts <= 1 || k == 0) {
    if (k == 0) std::memset(c, 0, sizeof(float) * m * n);
    else if (Call(tra, trb, m, n, k, a, lda, b, ldb, c, n) != 0) return 1;
    return 0;
  }
  const int64_t wide = std::max(m, n);
  int failed = 0;
  if (wide >= 16 * parts) {
    // split the longer side of c into PARTS bands, each a product of its own
    const bool by_rows = m >= n;
    const int64_t step = (wide + parts - 1) / parts;
#pragma omp parallel for num_threads(parts) schedule(static) reduction(| : failed)
    for (int64_t p = 0; p < parts; ++p) {
      const int64_t lo = p * step, len = std::min(wide, lo + step) - lo;
      if (len <= 0) continue;
      if (by_rows) {  // rows lo.. of c and of op(a)
        const T *a_part = ta ? a + lo : a + lo * lda;
        failed |= Call(tra, trb, len, n, k, a_part, lda, b, ldb, c + lo * n, n) != 0;
      } else {  // columns lo.. of c and of op(b)
        const T *b_part = tb ? b + lo * ldb : b + lo;
        failed |= Call(tra, trb, m, len, k, a, lda, b_part, ldb, c + lo, n) != 0;
      }
    }
    return failed;
  }
  // a small c from a long k (a weight gradient summed over every pixel of the batch): each thread sums its share
  // of k into its own copy of c, then the copies are added in order
  const int64_t step = (k + parts - 1) / parts;
  std::vector<float> partial(static_cast<size_t>((parts - 1) * m * n));
#pragma omp parallel for num_threads(parts) schedule(static) reduction(| : failed)
  for (int64_t p = 0; p < parts; ++p) {
    const int64_t lo = p * step, len = std::max<int64_t>(0, std::min(k, lo + step) - lo);
    float *out = p == 0 ? c : partial.data() + (p - 1) * m * n;
    if (len == 0) {
      std::memset(out, 0, sizeof(float) * m * n);
      continue;
    }
    const T *a_part = ta ? a + lo * lda : a + lo;
    const T *b_part = tb ? b + lo : b + lo * ldb;
    failed |= Call(tra, trb, m, n, len, a_part, lda, b_part, ldb, out, n) != 0;
  }
  for (int64_t p = 1; p < parts; ++p) {
    const float *add = partial.data() + (p - 1) * m * n;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m * n; ++i) c[i] += add[i];
  }
  return failed;
}

// X [n] -> Y [n] in bfloat16 (ms_gan::ToBF16Run), split between the threads
void ToBF16(const float *x, uint16_t *y, int64_t n) {
  constexpr int64_t kBlock = int64_t(1) << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (blocks > 4)
  for (int64_t blk = 0; blk < blocks; ++blk)
    ms_gan::ToBF16Run(x + blk * kBlock, y + blk * kBlock, std::min(kBlock, n - blk * kBlock));
}

// Scratch space for the bfloat16 operands, kept between calls: a fresh allocation of this size would be mapped anew
// by the system each call, and its first touch (page faults) cost as much as the conversion. Buffers are lent out
// one caller at a time (MindSpore may run independent operators at once); they hold the two largest operands' worth
// per product running at once (about 100 MB for the dcgan at batch 128).
class Scratch {
 public:
  explicit Scratch(int64_t n) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        buffer_ = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (buffer_.size() < static_cast<size_t>(n)) buffer_.resize(static_cast<size_t>(n));
  }
  ~Scratch() {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(buffer_));
  }
  uint16_t *data() { return buffer_.data(); }

 private:
  std::vector<uint16_t> buffer_;
  static inline std::mutex mutex_;
  static inline std::vector<std::vector<uint16_t>> free_;
};

// params: a, b, then c; shapes as stored. BF16: the operands rounded to bfloat16 first.
int Product(bool ta, bool tb, bool bf16, int nparam, void **params, int *ndims, int64_t **shapes,
            const char **dtypes) {
  if (nparam != 3 || ndims[0] != 2 || ndims[1] != 2 || ndims[2] != 2 || !IsFloat32(dtypes[0]) ||
      !IsFloat32(dtypes[1]))
    return 1;
  const int64_t m = shapes[2][0], n = shapes[2][1], k = ta ? shapes[0][0] : shapes[0][1];
  if ((tb ? shapes[1][1] : shapes[1][0]) != k) return 1;
  const float *a = static_cast<const float *>(params[0]), *b = static_cast<const float *>(params[1]);
  float *c = static_cast<float *>(params[2]);
  if (!bf16) return Gemm(ta, tb, m, n, k, a, b, c);
  Scratch a16(m * k), b16(k * n);
  ToBF16(a, a16.data(), m * k);
  ToBF16(b, b16.data(), k * n);
  return Gemm(ta, tb, m, n, k, a16.data(), b16.data(), c);
}

}  // namespace

#define MS_GAN_PRODUCT(NAME, TA, TB, BF16)                                                                      \
  extern "C" int NAME(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream, \
                      void *extra) {                                                                              \
    return Product(TA, TB, BF16, nparam, params, ndims, shapes, dtypes);                                          \
  }

MS_GAN_PRODUCT(MatMulNN, false, false, false)
MS_GAN_PRODUCT(MatMulNT, false, true, false)
MS_GAN_PRODUCT(MatMulTN, true, false, false)
MS_GAN_PRODUCT(MatMulNN16, false, false, true)
MS_GAN_PRODUCT(MatMulNT16, false, true, true)
MS_GAN_PRODUCT(MatMulTN16, true, false, true)

// DenseReLU(x, w, b) = max(x @ w^T + b, 0) and DenseBias(x, w, b) = x @ w^T + b: x [n, in], w [out, in], b [out],
// float32. For drawing only (no gradient): the fc generator's folded layers (models/folded.py), where MindSpore's
// separate bias add and ReLU each read and write the whole activation again. Here each thread takes a band of
// rows, in chunks that stay in cache: the bias copied into the chunk, the product added onto it (beta = 1), then
// the ReLU in place.
namespace {

constexpr int64_t kDenseChunkRows = 256;

int Dense(bool relu, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  if (nparam != 4 || ndims[0] != 2 || ndims[1] != 2 || ndims[2] != 1 || ndims[3] != 2 || !IsFloat32(dtypes[0]) ||
      !IsFloat32(dtypes[1]) || !IsFloat32(dtypes[2]))
    return 1;
  const int64_t rows = shapes[0][0], k = shapes[0][1], n = shapes[1][0];
  if (shapes[1][1] != k || shapes[2][0] != n || shapes[3][0] != rows || shapes[3][1] != n) return 1;
  const float *x = static_cast<const float *>(params[0]), *w = static_cast<const float *>(params[1]);
  const float *bias = static_cast<const float *>(params[2]);
  float *y = static_cast<float *>(params[3]);
  const int64_t chunks = (rows + kDenseChunkRows - 1) / kDenseChunkRows;
  int failed = 0;
#pragma omp parallel for schedule(static) reduction(| : failed)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t lo = c * kDenseChunkRows, len = std::min(rows, lo + kDenseChunkRows) - lo;
    float *out = y + lo * n;
    for (int64_t r = 0; r < len; ++r) std::memcpy(out + r * n, bias, sizeof(float) * n);
    failed |= dnnl_sgemm('N', 'T', len, n, k, 1.0f, x + lo * k, k, w, k, 1.0f, out, n) != 0;
    if (relu)
      for (int64_t i = 0; i < len * n; ++i) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
  }
  return failed;
}

}  // namespace

extern "C" int DenseReLU(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                         void *extra) {
  return Dense(true, nparam, params, ndims, shapes, dtypes);
}

extern "C" int DenseBias(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream,
                         void *extra) {
  return Dense(false, nparam, params, ndims, shapes, dtypes);
}
