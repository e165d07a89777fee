// Internal: the arithmetic of EquivariantFlow in one precision (flow.precision): the kernel transforms, the
// scratch memory, the RK4 integrator, the score's integration and the discrete adjoint. EquivariantFlow owns
// the parameters and the settings and hands every call to its solver; fields, features, spectra and adjoint
// states live in the solver's precision, while the fields it is given and returns, log q, the action and the
// gradient stay double.
#pragma once

#include <memory>

#include "equivariant_flow_kernels.hpp"

namespace phi4flow::flow::detail {

/// What a solver needs to know of its flow. The Views are shared with the flow, not copied: the solver always
/// sees the current parameters.
struct FlowDefinition {
  int L = 0;
  int sites = 0;     // N = L^2
  int modes = 0;     // L (L/2 + 1)
  int features = 0;  // j per site
  int omega_offset = 0;
  EquivariantFlowConfig config;
  ParameterView params;
  IntView row_of;     // theta row of displacement r
  IntView row_start;  // displacements of row p: row_sites[row_start[p] .. row_start[p+1])
  IntView row_sites;
};

/// The public operations of EquivariantFlow, as EquivariantFlow documents them.
class FlowSolver {
 public:
  virtual ~FlowSolver() = default;
  virtual void sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) = 0;
  virtual void sample_with_score(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q,
                                 const FieldBatch& score) = 0;
  virtual void log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) = 0;
  virtual void invert(const ConstFieldBatch& phi, const FieldBatch& z, const BatchScalars& log_q) = 0;
  virtual double loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                                   GradientEstimator estimator) = 0;
  virtual void vector_field(const ConstFieldBatch& phi, double t, const FieldBatch& g, const BatchScalars& div) = 0;
  virtual void vector_field_vjp(const ConstFieldBatch& phi, double t, const ConstFieldBatch& v, double c,
                                const FieldBatch& phi_bar, const ParameterView& grad) = 0;
};

/// \brief The solver in the precision definition.config asks for.
std::unique_ptr<FlowSolver> make_flow_solver(const FlowDefinition& definition);

}  // namespace phi4flow::flow::detail
