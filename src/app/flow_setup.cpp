// Model construction from the input file and checkpoint (de)serialisation helpers.
#include "flow_setup.hpp"

#include <algorithm>
#include <filesystem>

#include "phi4flow/error.hpp"
#include "phi4flow/flow/equivariant_flow.hpp"
#include "phi4flow/flow/real_nvp.hpp"

namespace phi4flow::app {

std::unique_ptr<flow::Model> make_model(const io::Settings& settings, const Lattice& lattice) {
  const io::FlowConfig& f = settings.flow;
  const auto seed = static_cast<std::uint32_t>(settings.run.seed);
  if (f.model == "equivariant_cnf") {
    flow::EquivariantFlowConfig config;
    config.time_basis = f.time_basis;
    config.frequencies = f.frequencies;
    config.steps = f.ode_steps;
    config.translation_only = f.translation_only;
    config.sign_breaking = f.sign_breaking;
    config.linear_term = f.linear_term;
    if (f.frequency_init != "normal" && f.frequency_init != "uniform")
      throw InputError("flow.frequency_init = '" + f.frequency_init + "': use normal or uniform");
    config.uniform_frequencies = f.frequency_init == "uniform";
    config.time_bond = f.time_bond;
    config.feature_bond = f.feature_bond;
    config.fourier_time = f.fourier_time;
    if (f.precision != "double" && f.precision != "single")
      throw InputError("flow.precision = '" + f.precision + "': use double or single");
    config.single_precision = f.precision == "single";
    if (f.fft_planning != "estimate" && f.fft_planning != "measure")
      throw InputError("flow.fft_planning = '" + f.fft_planning + "': use estimate or measure");
    config.fft_planning = f.fft_planning == "measure" ? flow::FftPlanning::measure : flow::FftPlanning::estimate;
    return std::make_unique<flow::EquivariantFlow>(lattice, config, seed);
  }
  if (f.model == "realnvp") {
    flow::RealNvpConfig config;
    config.coupling_layers = f.coupling_layers;
    config.hidden_layers = f.hidden_layers;
    config.hidden_channels = f.hidden_channels;
    config.kernel_size = f.kernel_size;
    return std::make_unique<flow::RealNvp>(lattice, config, seed);
  }
  throw InputError("flow.model = '" + f.model + "' is not a model phi4flow knows: use equivariant_cnf or realnvp");
}

io::AttrList model_identity(flow::Model& model, const io::Settings& settings) {
  io::AttrList identity = {{"kind", model.kind()},
                           {"L", std::int64_t{settings.lattice.L}},
                           {"m2", settings.action.m2},
                           {"lam", settings.action.lam}};
  for (const auto& [name, value] : model.hyperparameters())
    if (!io::has_attr(identity, name)) identity.emplace_back(name, value);
  return identity;
}

namespace {
/// Attributes of a model identity that name the problem it learned, not the model: a train.init_from start may
/// differ in them.
bool problem_attribute(const std::string& name) {
  return name == "L" || name == "m2" || name == "lam" || name == "parameters";
}
}  // namespace

void require_same_model(const io::AttrList& identity, const io::AttrList& stored, const std::string& source) {
  if (io::has_attr(stored, "kind")) {
    const std::string stored_kind = io::attr_string(stored, "kind", source);
    const std::string wanted_kind = io::attr_string(identity, "kind", source);
    if (stored_kind != wanted_kind) {
      throw InputError(source + " holds a model of kind " + stored_kind + ", the input asks for " + wanted_kind +
                       ": set flow.model = " + stored_kind + " (and its other flow.* keys) to use it");
    }
  }
  // The ODE solver's settings describe how the flow is integrated, not the flow: parameters trained with one
  // setting are used with another (train.ode_steps, flow.precision, solver-error).
  const auto solver_setting = [](const std::string& name) { return name == "steps" || name == "single_precision"; };
  io::AttrList model_only;
  for (const auto& attr : identity)
    if (!solver_setting(attr.first)) model_only.push_back(attr);
  io::require_match(model_only, stored, source);
  // Options are named only when on (flow.linear_term, ...): one that the checkpoint has and the input does not.
  // The lattice, couplings and parameter count are left out of `identity` by a train.init_from start.
  for (const auto& [name, value] : stored) {
    if (!io::has_attr(identity, name) && !solver_setting(name) && !problem_attribute(name)) {
      throw InputError(source + " has " + name + " = " + io::to_string(value) +
                       ", which the input does not set: set flow." + name + " = " + io::to_string(value) +
                       " to use it");
    }
  }
}

io::Checkpoint load_trained_parameters(flow::Model& model, const io::AttrList& identity, const std::string& path) {
  io::Checkpoint checkpoint = io::read_checkpoint(path);
  require_same_model(identity, checkpoint.model, "checkpoint '" + path + "'");
  if (!checkpoint.arrays.count("parameters"))
    throw InputError("checkpoint '" + path + "' holds no parameters: is it a phi4flow train checkpoint?");
  load_array(checkpoint.arrays.at("parameters"), model.parameters(), path + ": parameters");
  return checkpoint;
}

std::string sampling_checkpoint(const std::string& flag, const io::Settings& settings) {
  if (!flag.empty()) return flag;
  const std::string& trained = settings.train.checkpoint;
  if (!trained.empty() && std::filesystem::exists(trained)) return trained;
  const std::string& shipped = settings.sample.shipped_model;  // resolved by io::parse_input
  if (!shipped.empty() && std::filesystem::exists(shipped)) return shipped;
  throw InputError("no trained model: --checkpoint is not given, train.checkpoint = '" + trained +
                   "' does not exist" +
                   (shipped.empty() ? std::string(" and sample.shipped_model is not set")
                                    : ", nor does sample.shipped_model = '" + shipped + "'") +
                   ": train one with phi4flow train, or pass --checkpoint FILE");
}

io::Checkpoint load_start_parameters(flow::Model& model, const io::AttrList& identity, const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw InputError("train.init_from = '" + path + "' does not exist: name a checkpoint of phi4flow train (models/ "
                     "holds the shipped ones), or none to start from the model's initialisation");
  }
  io::Checkpoint checkpoint = io::read_checkpoint(path);
  const std::string source = "train.init_from: checkpoint '" + path + "'";
  // What the parameters mean, whatever the lattice and couplings they learned; the options the model can add to
  // a start that lacks them are not compared.
  const std::vector<std::string> addable = model.options_added_at_start();
  std::vector<std::string> added;
  io::AttrList hyperparameters;
  for (const auto& attr : identity) {
    if (problem_attribute(attr.first)) continue;
    if (std::find(addable.begin(), addable.end(), attr.first) != addable.end() &&
        !io::has_attr(checkpoint.model, attr.first)) {
      added.push_back(attr.first);
      continue;
    }
    hyperparameters.push_back(attr);
  }
  require_same_model(hyperparameters, checkpoint.model, source);
  if (!checkpoint.arrays.count("parameters"))
    throw InputError(source + " holds no parameters: is it a phi4flow train checkpoint?");
  const std::vector<double>& parameters = checkpoint.arrays.at("parameters");
  const auto L_from = static_cast<int>(io::attr_real(checkpoint.model, "L", source));
  if (L_from == static_cast<int>(io::attr_real(identity, "L", source)) && added.empty()) {
    load_array(parameters, model.parameters(), path + ": parameters");
  } else {
    model.load_start_parameters(parameters, L_from, added);
  }
  return checkpoint;
}

void load_array(const std::vector<double>& from, const Kokkos::View<real_t*, MemSpace>& to, const std::string& what) {
  if (from.size() != to.extent(0)) {
    throw InputError(what + " holds " + std::to_string(from.size()) + " numbers, the model needs " +
                     std::to_string(to.extent(0)));
  }
  const Kokkos::View<const real_t*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host(from.data(), from.size());
  Kokkos::deep_copy(to, host);
}

std::vector<double> to_vector(const Kokkos::View<real_t*, MemSpace>& from) {
  std::vector<double> out(from.extent(0));
  const Kokkos::View<real_t*, HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> host(out.data(), out.size());
  Kokkos::deep_copy(host, from);
  return out;
}

}  // namespace phi4flow::app
