// Glue between the input file and the flow layer, shared by the commands that train or use a model: building
// the model from [flow] keys, and turning model + optimiser state into checkpoints and back.
#pragma once

#include <memory>
#include <string>

#include "phi4flow/flow/model.hpp"
#include "phi4flow/io/checkpoint.hpp"
#include "phi4flow/io/config.hpp"
#include "phi4flow/lattice/lattice.hpp"
#include "phi4flow/train/adam.hpp"

namespace phi4flow::app {

/// \brief The model the [flow] section asks for; InputError naming flow.model for an unknown kind.
std::unique_ptr<flow::Model> make_model(const io::Settings& settings, const Lattice& lattice);

/// \brief Metadata that identifies what a checkpoint's parameters mean: model kind and hyperparameters,
/// lattice and couplings, and the ODE solver's settings.
io::AttrList model_identity(flow::Model& model, const io::Settings& settings);

/// \brief Refuses a checkpoint whose model identity (as written by model_identity) differs from `identity`: the
/// model kind first, naming the flow.model setting that loads it, then every other entry except the ODE solver's
/// settings (steps, single_precision), which may differ.
void require_same_model(const io::AttrList& identity, const io::AttrList& stored, const std::string& source);

/// \brief Reads the checkpoint at `path`, refuses it unless its model identity is `identity` (see
/// require_same_model), and loads its parameters into `model`.
io::Checkpoint load_trained_parameters(flow::Model& model, const io::AttrList& identity, const std::string& path);

/// \brief The start of a training run (train.init_from): the parameters of the checkpoint at `path`, which must
/// hold a model of this kind and hyperparameters (require_same_model), but may come from other couplings and,
/// for models that can carry them over (Model::load_start_parameters), a smaller lattice and fewer options
/// (Model::options_added_at_start).
io::Checkpoint load_start_parameters(flow::Model& model, const io::AttrList& identity, const std::string& path);

/// \brief The model sample uses: --checkpoint if given (`flag`), else train.checkpoint if that file exists, else
/// sample.shipped_model if that exists; InputError naming all three otherwise.
std::string sampling_checkpoint(const std::string& flag, const io::Settings& settings);

/// \brief Copy a host array into a device View of the same length (InputError naming `what` otherwise).
void load_array(const std::vector<double>& from, const Kokkos::View<real_t*, MemSpace>& to, const std::string& what);

/// \brief Host copy of a device View.
std::vector<double> to_vector(const Kokkos::View<real_t*, MemSpace>& from);

}  // namespace phi4flow::app
