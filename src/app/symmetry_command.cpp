// phi4flow symmetry: how far a trained model's density is from invariant under the symmetries of the theory
// (the paper's Fig. 2). For configurations taken from an ensemble it evaluates log q of all 8 L^2 lattice images
// (translations, rotations, mirrors) and of their sign flips; p = exp(-S) / Z is exactly invariant under all of
// them, so any spread of log q is error of the model. For the equivariant flow it is rounding; for RealNVP, whose
// checkerboard couplings break the symmetries, it is what the paper shows.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "flow_setup.hpp"
#include "memory_check.hpp"
#include "phi4flow/error.hpp"
#include "phi4flow/io/ensemble.hpp"
#include "phi4flow/io/provenance.hpp"
#include "phi4flow/io/sha256.hpp"
#include "phi4flow/io/symmetry_file.hpp"
#include "phi4flow/physics/action.hpp"

namespace phi4flow::app {

namespace {

/// The ensemble to take configurations from: InputError unless it stores fields of this lattice, enough of them.
io::Ensemble read_fields(const std::string& path, const Lattice& lattice, int configs) {
  io::Ensemble ensemble = io::read_ensemble(path, true);
  if (!ensemble.has_fields) throw InputError("ensemble '" + path + "' stores no fields: run it with store_fields = true");
  if (ensemble.L != lattice.extent()) {
    throw InputError("ensemble '" + path + "' has L = " + std::to_string(ensemble.L) + ", lattice.L is " +
                     std::to_string(lattice.extent()));
  }
  const std::int64_t total = ensemble.n_chains * ensemble.n_records;
  if (total < configs) {
    throw InputError("ensemble '" + path + "' holds " + std::to_string(total) +
                     " configurations, --configs asks for " + std::to_string(configs));
  }
  return ensemble;
}

/// log q of all lattice images, with and without the sign flip, of `configs` configurations evenly spaced over the
/// ensemble; prints a row per configuration.
io::SymmetryRecords measure_images(flow::Model& model, const Phi4Action& action, const io::Ensemble& ensemble,
                                   const std::vector<LatticeSymmetry>& group, int configs) {
  const Lattice& lattice = action.lattice();
  const int images = static_cast<int>(group.size()), N = lattice.volume();
  const std::int64_t total = ensemble.n_chains * ensemble.n_records;
  FieldBatch fields("fields", images, N);
  BatchScalars log_q("log_q", images), S("S", 1);
  auto h_fields = Kokkos::create_mirror_view(fields);
  io::SymmetryRecords r;
  std::printf("%6s %6s %8s %12s %12s %12s %12s %14s\n", "chain", "record", "S", "log q", "min image", "max image",
              "spread", "sign |diff|");
  for (int c = 0; c < configs; ++c) {
    const std::int64_t k = c * total / configs;
    const int chain = static_cast<int>(k / ensemble.n_records);
    const std::int64_t record = k % ensemble.n_records;
    const double* phi = &ensemble.phi(chain, record, 0);
    std::vector<double> values(2 * images);
    for (int sign = 0; sign < 2; ++sign) {
      for (int g = 0; g < images; ++g)
        for (int s = 0; s < N; ++s) h_fields(g, lattice.apply(group[g], s)) = (sign == 0 ? 1.0 : -1.0) * phi[s];
      Kokkos::deep_copy(fields, h_fields);
      model.log_density(fields, log_q);
      const auto h_q = Kokkos::create_mirror_view_and_copy(HostSpace(), log_q);
      for (int g = 0; g < images; ++g) values[sign * images + g] = h_q(g);
      if (sign == 0) {
        action.action(Kokkos::subview(fields, std::make_pair(0, 1), Kokkos::ALL), S);
        r.action.push_back(Kokkos::create_mirror_view_and_copy(HostSpace(), S)(0));
      }
    }
    const auto lo = std::min_element(values.begin(), values.begin() + images);
    const auto hi = std::max_element(values.begin(), values.begin() + images);
    double sign_spread = 0.0;
    for (int g = 0; g < images; ++g) sign_spread = std::max(sign_spread, std::abs(values[images + g] - values[g]));
    r.chain.push_back(chain);
    r.record.push_back(record);
    r.log_q.insert(r.log_q.end(), values.begin(), values.end());
    r.spread.push_back(*hi - *lo);
    r.sign_spread.push_back(sign_spread);
    std::printf("%6d %6lld %8.3f %12.6f %12.6f %12.6f %12.3e %14.3e\n", chain, static_cast<long long>(record),
                r.action.back(), values[0], *lo, *hi, r.spread.back(), sign_spread);
  }
  return r;
}

}  // namespace

int symmetry_command(const Environment& env, int argc, char** argv) {
  namespace po = io::po;
  std::string checkpoint_flag, ensemble_path, output;
  int configs = 6;
  po::options_description extra("symmetry");
  extra.add_options()("checkpoint", po::value(&checkpoint_flag), "trained model (default: train.checkpoint)")(
      "ensemble", po::value(&ensemble_path), "ensemble file with stored fields (hmc or sample output)")(
      "configs", po::value(&configs)->default_value(configs), "configurations, evenly spaced over the ensemble")(
      "output", po::value(&output), "HDF5 file for log q of every image (default: none, print only)");
  io::Settings settings;
  io::Input input;
  if (!io::parse_input("symmetry", argc, argv, settings, input, env.rank() == 0, extra)) return 0;
  const std::string checkpoint_path = checkpoint_flag.empty() ? settings.train.checkpoint : checkpoint_flag;
  if (checkpoint_path.empty())
    throw InputError("no trained model: set train.checkpoint in the input file or pass --checkpoint FILE");
  if (ensemble_path.empty()) throw InputError("--ensemble is required: an hmc or sample output with stored fields");
  if (configs < 1) throw InputError("--configs must be at least 1, got " + std::to_string(configs));
  check_memory(settings, "symmetry", 1, 1);  // before the lattice images are allocated
  if (!output.empty()) io::check_output_path("--output", output, input.force, false);
  if (env.rank() != 0) return 0;  // a serial measurement

  const Lattice lattice(settings.lattice.L);
  const Phi4Action action(lattice, Couplings{settings.action.m2, settings.action.lam});
  const auto model = make_model(settings, lattice);
  const io::AttrList identity = model_identity(*model, settings);
  load_trained_parameters(*model, identity, checkpoint_path);
  const io::Ensemble ensemble = read_fields(ensemble_path, lattice, configs);
  const std::vector<LatticeSymmetry> group = lattice.symmetries();
  std::printf("phi4flow symmetry: %s from %s on %d configurations of %s, %zu lattice images each, with and without "
              "phi -> -phi\n",
              model->kind().c_str(), checkpoint_path.c_str(), configs, ensemble_path.c_str(), group.size());
  const io::SymmetryRecords r = measure_images(*model, action, ensemble, group, configs);
  double mean_spread = 0.0, mean_sign = 0.0;
  for (int c = 0; c < configs; ++c) {
    mean_spread += r.spread[c] / configs;
    mean_sign += r.sign_spread[c] / configs;
  }
  std::printf("mean spread of log q over lattice images %.3e, over sign flips %.3e (0 for an exactly invariant q)\n",
              mean_spread, mean_sign);
  if (output.empty()) return 0;
  io::AttrList root = io::provenance(input, 1);
  root.insert(root.end(), {{"checkpoint", checkpoint_path},
                           {"checkpoint_sha256", io::sha256_file(checkpoint_path)},
                           {"ensemble", ensemble_path},
                           {"mean_spread", mean_spread},
                           {"mean_sign_spread", mean_sign}});
  io::write_symmetry_file(output, root, identity, group, r);
  std::printf("log q of every image in %s\n", output.c_str());
  return 0;
}

}  // namespace phi4flow::app
