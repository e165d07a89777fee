// The run-time choice of sincos_array's instruction set (vector_math.hpp) and the portable fallback.
#include "vector_math.hpp"

#include <sleef.h>

#include "phi4flow/error.hpp"

namespace phi4flow::flow::detail {

#if defined(PHI4FLOW_SIMD_X86)
void sincos_array_avx512(const double* x, double* s, double* c, int n);
void sincos_array_avx512(const float* x, float* s, float* c, int n);
void sincos_array_avx2(const double* x, double* s, double* c, int n);
void sincos_array_avx2(const float* x, float* s, float* c, int n);
#endif

namespace {

void sincos_portable(const double* x, double* s, double* c, int n) {
  for (int i = 0; i < n; ++i) {
    const Sleef_double2 r = Sleef_sincos_u10(x[i]);
    s[i] = r.x;
    c[i] = r.y;
  }
}

void sincos_portable(const float* x, float* s, float* c, int n) {
  for (int i = 0; i < n; ++i) {
    const Sleef_float2 r = Sleef_sincosf_u35(x[i]);
    s[i] = r.x;
    c[i] = r.y;
  }
}

template <class Real>
void dispatch(SincosIsa isa, const Real* x, Real* s, Real* c, int n) {
  switch (isa) {
#if defined(PHI4FLOW_SIMD_X86)
    case SincosIsa::avx512f:
      sincos_array_avx512(x, s, c, n);
      return;
    case SincosIsa::avx2:
      sincos_array_avx2(x, s, c, n);
      return;
#endif
    default:
      sincos_portable(x, s, c, n);
  }
}

SincosIsa detect_isa() {
  if (has_sincos_isa(SincosIsa::avx512f)) return SincosIsa::avx512f;
  if (has_sincos_isa(SincosIsa::avx2)) return SincosIsa::avx2;
  return SincosIsa::portable;
}

}  // namespace

bool has_sincos_isa(SincosIsa isa) {
#if defined(PHI4FLOW_SIMD_X86)
  __builtin_cpu_init();
  if (isa == SincosIsa::avx512f) return __builtin_cpu_supports("avx512f");
  if (isa == SincosIsa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa == SincosIsa::portable;
}

SincosIsa sincos_isa() {
  static const SincosIsa chosen = detect_isa();
  return chosen;
}

const char* sincos_isa_name(SincosIsa isa) {
  switch (isa) {
    case SincosIsa::avx512f:
      return "avx512f";
    case SincosIsa::avx2:
      return "avx2";
    default:
      return "portable C";
  }
}

void sincos_array(const double* x, double* s, double* c, int n) {
  dispatch(sincos_isa(), x, s, c, n);
}

void sincos_array(const float* x, float* s, float* c, int n) {
  dispatch(sincos_isa(), x, s, c, n);
}

void sincos_array(SincosIsa isa, const double* x, double* s, double* c, int n) {
  PHI4FLOW_CHECK(has_sincos_isa(isa), std::string("this CPU cannot run sincos with ") + sincos_isa_name(isa));
  dispatch(isa, x, s, c, n);
}

void sincos_array(SincosIsa isa, const float* x, float* s, float* c, int n) {
  PHI4FLOW_CHECK(has_sincos_isa(isa), std::string("this CPU cannot run sincos with ") + sincos_isa_name(isa));
  dispatch(isa, x, s, c, n);
}

}  // namespace phi4flow::flow::detail
