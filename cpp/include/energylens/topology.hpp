// Topology features of a deployment (python/energylens/profiles/topology.py, the same expressions): shared
// by the native row pass (cpp/src/row_features.cpp) and the search (search_kernel.hpp, CPU and CUDA).
#pragma once

#include <cmath>

#include "energylens/roofline.hpp"

namespace energylens::topology {

/// From a combo's scale-up `link` and scale-out `out` bytes/s and its `domain` (GPUs per scale-up domain):
/// the TP all-reduce bandwidth (scale-out when tp exceeds the domain), the EP all-to-all bandwidth (an EP
/// group larger than the domain sends 1 - domain/ep of its bytes over scale-out) and the PP stage boundaries
/// of a replica that cross domains (tp ranks contiguous in a domain, floor(domain / tp) stages per domain).
ENERGYLENS_HD void features(double domain, double tp, double pp, double ep, double link, double out,
                                   double& tp_link, double& a2a_link, double& hops) {
  using std::floor;
  tp_link = tp > domain ? (link < out ? link : out) : link;
  const double inside = domain / ep;
  a2a_link = ep > domain ? 1.0 / (inside / link + (1.0 - inside) / out) : link;
  const double per_domain = floor(domain / tp);
  hops = floor((pp - 1.0) / (per_domain > 1.0 ? per_domain : 1.0));
}

}  // namespace energylens::topology
