// sincos_array for CPUs with AVX2 and FMA; this file alone is compiled with -mavx2 -mfma (src/CMakeLists.txt) and
// is only called after the CPU was found to have both. It includes nothing but SLEEF and the intrinsics.
#include <immintrin.h>
#include <sleef.h>

namespace phi4flow::flow::detail {

void sincos_array_avx2(const double* x, double* s, double* c, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const Sleef___m256d_2 r = Sleef_finz_sincosd4_u10avx2(_mm256_loadu_pd(x + i));
    _mm256_storeu_pd(s + i, r.x);
    _mm256_storeu_pd(c + i, r.y);
  }
  if (i < n) {  // the tail through the same vector function, so every element rounds alike
    double xt[4] = {0.0, 0.0, 0.0, 0.0}, st[4], ct[4];
    for (int k = 0; k < n - i; ++k) xt[k] = x[i + k];
    const Sleef___m256d_2 r = Sleef_finz_sincosd4_u10avx2(_mm256_loadu_pd(xt));
    _mm256_storeu_pd(st, r.x);
    _mm256_storeu_pd(ct, r.y);
    for (int k = 0; k < n - i; ++k) {
      s[i + k] = st[k];
      c[i + k] = ct[k];
    }
  }
}

void sincos_array_avx2(const float* x, float* s, float* c, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const Sleef___m256_2 r = Sleef_finz_sincosf8_u35avx2(_mm256_loadu_ps(x + i));
    _mm256_storeu_ps(s + i, r.x);
    _mm256_storeu_ps(c + i, r.y);
  }
  if (i < n) {
    float xt[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f}, st[8], ct[8];
    for (int k = 0; k < n - i; ++k) xt[k] = x[i + k];
    const Sleef___m256_2 r = Sleef_finz_sincosf8_u35avx2(_mm256_loadu_ps(xt));
    _mm256_storeu_ps(st, r.x);
    _mm256_storeu_ps(ct, r.y);
    for (int k = 0; k < n - i; ++k) {
      s[i + k] = st[k];
      c[i + k] = ct[k];
    }
  }
}

}  // namespace phi4flow::flow::detail
