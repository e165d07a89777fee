// Internal: sin and cos of whole arrays with SLEEF's vector functions, for the flow's feature kernels on CPUs
// (they are most of a training step). One call per array keeps the compiler from falling back to scalar libm
// calls. The ISA is chosen once, at run time, from what the CPU has: AVX-512F, else AVX2 with FMA, else SLEEF's
// portable C. The vector variants are SLEEF's "finz" functions, which return the same bits on AVX2 and AVX-512, so
// results do not depend on which of the two a machine has. Accuracy: 1.0 ulp in double (u10: the reference
// precision), 3.5 ulp in float (u35: 10-20% faster steps than u10, and its error is far below float's own
// rounding of the FFTs and the RK4 state; docs/performance.md).
#pragma once

namespace phi4flow::flow::detail {

/// The instruction sets sincos_array can use.
enum class SincosIsa { avx512f, avx2, portable };

/// \brief s[i] = sin(x[i]) and c[i] = cos(x[i]) for i < n, within 1.0 ulp (double) or 3.5 ulp (float), with the
/// widest instruction set this CPU has. The arrays must not overlap.
void sincos_array(const double* x, double* s, double* c, int n);
void sincos_array(const float* x, float* s, float* c, int n);

/// \brief The same with a given instruction set, which must be available (tests compare them).
void sincos_array(SincosIsa isa, const double* x, double* s, double* c, int n);
void sincos_array(SincosIsa isa, const float* x, float* s, float* c, int n);

/// \brief The instruction set sincos_array uses on this CPU, and whether the CPU (and this build) has `isa`.
SincosIsa sincos_isa();
bool has_sincos_isa(SincosIsa isa);
/// \brief "avx512f", "avx2" or "portable C".
const char* sincos_isa_name(SincosIsa isa);

}  // namespace phi4flow::flow::detail
