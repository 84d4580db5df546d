// Descriptors of the closed-form templates (names, units, bounds, start point).
#include "energylens/energy_template.hpp"
#include "energylens/latency_template.hpp"

namespace energylens {

namespace {
const char* const kEnergyFeatures[] = {"a", "b"};
const char* const kEnergyParams[] = {"p0", "p1"};
const char* const kEnergyUnits[] = {"J", "J"};
const char* const kEnergyDesc[] = {"x", "y"};
const double kEnergyLower[] = {0, 0};
const double kEnergyUpper[] = {10, 10};
const double kEnergyInit[] = {1, 1};
const char* const kEnergyOutputs[] = {"prefill_energy_j", "decode_energy_j"};
const char* const kLatencyOutputs[] = {"ttft_s", "tpot_s"};
}  // namespace

const TemplateDescriptor& EnergyTemplate::descriptor() {
  static const TemplateDescriptor d{"energylens.energy.provisional", 2, kEnergyFeatures, 2, kEnergyParams,
                                    kEnergyUnits, kEnergyDesc, kEnergyLower, kEnergyUpper, kEnergyInit,
                                    kEnergyOutputs};
  return d;
}

const TemplateDescriptor& LatencyTemplate::descriptor() {
  static const TemplateDescriptor d{"energylens.latency.provisional", 2, kEnergyFeatures, 2, kEnergyParams,
                                    kEnergyUnits, kEnergyDesc, kEnergyLower, kEnergyUpper, kEnergyInit,
                                    kLatencyOutputs};
  return d;
}

}  // namespace energylens
