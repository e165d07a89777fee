// Internal: kernels on field batches shared by every flow model (each model's own kernels are in its
// <model>_kernels files).
#pragma once

#include "phi4flow/types.hpp"

namespace phi4flow::flow::detail {

/// \brief Refuses (RuntimeError naming `what`) fields that are not batches of `sites` sites with one scalar per
/// field: the argument check of every model's sample, invert and vector field.
void require_same_batch(const char* what, int sites, const ConstFieldBatch& from, const ConstFieldBatch& to,
                        const ConstBatchScalars& scalars);

/// \brief out(b) -= x(b).
void subtract(const BatchScalars& x, const BatchScalars& out);
/// \brief sum_b [x(b) + y(b)].
double sum_of_sums(const BatchScalars& x, const BatchScalars& y);

/// \brief out(b) = log r(z_b) = -|z_b|^2 / 2 - (N/2) log(2 pi).
void log_prior(const ConstFieldBatch& z, const BatchScalars& out);

}  // namespace phi4flow::flow::detail
