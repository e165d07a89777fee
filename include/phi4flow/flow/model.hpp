// The interface every sampler model implements (the equivariant continuous flow, later the RealNVP
// baseline): one flat parameter buffer, sampling with log q, the reverse-KL loss with its gradient, and the
// density of given fields. Optimiser, gradient reducer and checkpoints see models only through it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "phi4flow/error.hpp"
#include "phi4flow/physics/action.hpp"
#include "phi4flow/types.hpp"

namespace phi4flow::flow {

/// Flat parameter (and gradient) buffer of a model.
using ParameterView = Kokkos::View<real_t*, MemSpace>;

/// How loss_and_gradient estimates the reverse-KL gradient from a batch.
///  - total: the derivative of the batch's loss itself, sum_b [log q(phi_b) + S(phi_b)].
///  - path: only the dependence through the samples, sum_b [grad_phi log q(phi_b) + grad_phi S(phi_b)] .
///    dphi_b/dparameters (Roeder et al. 2017; Vaitl et al. 2022 for continuous flows). Its mean is the same
///    gradient, but it drops the score term E[d log q / dparameters] at fixed phi, whose mean is zero and whose
///    noise does not shrink as q approaches p; the path estimator's noise does.
enum class GradientEstimator { total, path };

class Model {
 public:
  virtual ~Model() = default;

  /// \brief Name of the model family, stored in checkpoints (e.g. "equivariant_cnf").
  virtual std::string kind() const = 0;

  /// \brief All trainable parameters in one contiguous buffer; writing into it changes the model.
  virtual ParameterView parameters() = 0;

  /// \brief Pushes latent fields z (batch x sites, N(0,1) each) to phi and writes log q(phi_b), the log
  /// density of the model at each output.
  virtual void sample(const ConstFieldBatch& z, const FieldBatch& phi, const BatchScalars& log_q) = 0;

  /// \brief Reverse-KL objective for the fields pushed from z: returns sum_b [log q(phi_b) + S(phi_b)] (a
  /// sum, so that sums from several ranks add up exactly) and overwrites grad (same length as parameters())
  /// with the `estimator`'s gradient with respect to the parameters.
  double loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                           GradientEstimator estimator = GradientEstimator::total) {
    return do_loss_and_gradient(z, action, grad, estimator);
  }

  /// \brief Whether loss_and_gradient implements GradientEstimator::path.
  virtual bool has_path_gradient() const { return false; }

  /// \brief log q(phi_b) of given fields (for symmetry checks and reweighting of foreign fields).
  virtual void log_density(const ConstFieldBatch& phi, const BatchScalars& log_q) = 0;

  /// \brief Name and value of every hyperparameter, for output metadata.
  virtual std::vector<std::pair<std::string, double>> hyperparameters() const = 0;

  /// \brief Loads the parameters that a model of this kind learned on an L_from x L_from lattice (L_from may be
  /// this one's) with the same hyperparameters, except the options named in `added`, which it did not have: a
  /// start for training here (train.init_from). Added options start where they leave the source's flow unchanged.
  /// InputError if the model cannot carry parameters over, or `from` does not fit.
  virtual void load_start_parameters(const std::vector<double>& from, int L_from,
                                     const std::vector<std::string>& added) {
    (void)from;
    (void)added;
    throw InputError("train.init_from: a " + kind() + " model cannot start from one trained on L = " +
                     std::to_string(L_from) + ", another lattice size or other options: start it from scratch");
  }

  /// \brief The options (names in hyperparameters(), present only when on) that a train.init_from start may lack:
  /// load_start_parameters adds them.
  virtual std::vector<std::string> options_added_at_start() const { return {}; }

 protected:
  virtual double do_loss_and_gradient(const ConstFieldBatch& z, const Phi4Action& action, const ParameterView& grad,
                                      GradientEstimator estimator) = 0;
};

}  // namespace phi4flow::flow
