// sincos_array for CPUs with AVX-512F; this file alone is compiled with -mavx512f (src/CMakeLists.txt) and is only
// called after the CPU was found to have it. It includes nothing but SLEEF and the intrinsics, so no inline
// function compiled for AVX-512 can stand in for the rest of the program's.
#include <immintrin.h>
#include <sleef.h>

namespace phi4flow::flow::detail {

void sincos_array_avx512(const double* x, double* s, double* c, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const Sleef___m512d_2 r = Sleef_finz_sincosd8_u10avx512f(_mm512_loadu_pd(x + i));
    _mm512_storeu_pd(s + i, r.x);
    _mm512_storeu_pd(c + i, r.y);
  }
  if (i < n) {  // the tail through the same vector function, so every element rounds alike
    const __mmask8 m = static_cast<__mmask8>((1u << (n - i)) - 1u);
    const Sleef___m512d_2 r = Sleef_finz_sincosd8_u10avx512f(_mm512_maskz_loadu_pd(m, x + i));
    _mm512_mask_storeu_pd(s + i, m, r.x);
    _mm512_mask_storeu_pd(c + i, m, r.y);
  }
}

void sincos_array_avx512(const float* x, float* s, float* c, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const Sleef___m512_2 r = Sleef_finz_sincosf16_u35avx512f(_mm512_loadu_ps(x + i));
    _mm512_storeu_ps(s + i, r.x);
    _mm512_storeu_ps(c + i, r.y);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const Sleef___m512_2 r = Sleef_finz_sincosf16_u35avx512f(_mm512_maskz_loadu_ps(m, x + i));
    _mm512_mask_storeu_ps(s + i, m, r.x);
    _mm512_mask_storeu_ps(c + i, m, r.y);
  }
}

}  // namespace phi4flow::flow::detail
