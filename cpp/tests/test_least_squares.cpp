// C++ unit tests of the bounded Levenberg-Marquardt fitter and the native closed forms (no Python).
#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "energylens/closed_form.hpp"
#include "energylens/fast_log.hpp"
#include "energylens/least_squares.hpp"

namespace {

// check(ok, what): CHECK with a readable description.
#define check(ok, what) CHECK((ok) && (what))

// y = a exp(-b x) + c, a classic nonlinear least-squares problem.
struct Exponential {
  std::vector<double> x, y;
  void operator()(const double* t, double* r, double* jac) const {
    const std::size_t m = x.size();
    for (std::size_t i = 0; i < m; ++i) {
      const double e = std::exp(-t[1] * x[i]);
      r[i] = t[0] * e + t[2] - y[i];
      if (jac != nullptr) {  // parameter-major
        jac[0 * m + i] = e;
        jac[1 * m + i] = -t[0] * x[i] * e;
        jac[2 * m + i] = 1.0;
      }
    }
  }
};

// 40 exact points of y = 3 exp(-1.5 x) + 0.5 at x = 0, 0.1, ..., 3.9.
Exponential exact_exponential() {
  Exponential p;
  for (int i = 0; i < 40; ++i) {
    p.x.push_back(0.1 * i);
    p.y.push_back(3.0 * std::exp(-1.5 * 0.1 * i) + 0.5);
  }
  return p;
}

void test_recovers_exact_parameters() {
  const Exponential p = exact_exponential();
  const double start[] = {1.0, 0.5, 0.0}, lo[] = {0.0, 0.0, -10.0}, hi[] = {10.0, 10.0, 10.0};
  const auto r = energylens::levenberg_marquardt(p.x.size(), 3, p, start, lo, hi);
  check(r.converged, "exponential fit converges");
  check(std::abs(r.params[0] - 3.0) < 1e-6 && std::abs(r.params[1] - 1.5) < 1e-6 && std::abs(r.params[2] - 0.5) < 1e-6,
        "exponential fit recovers (3, 1.5, 0.5)");
}

void test_bounds_are_honoured() {
  const Exponential p = exact_exponential();
  const double start[] = {1.0, 0.5, 0.0}, lo[] = {0.0, 0.0, -10.0}, hi[] = {10.0, 1.0, 10.0};
  const auto r = energylens::levenberg_marquardt(p.x.size(), 3, p, start, lo, hi);
  check(r.params[1] <= 1.0 && r.params[1] >= 0.0, "parameter stays inside its bounds");
  check(std::abs(r.params[1] - 1.0) < 1e-12, "constrained parameter sits at its bound");
}

// The same noisy exponential with x in units u times larger (b, on x, u times larger too) and y in units v
// times larger (a and c v times larger): the fit must stop where the unit fit stops, after the same
// iterations. The step test once compared |dx| with |x| in the parameters' own units and the gradient test
// |J^T r| with a fixed 1e-12, so such a fit stopped elsewhere.
void test_units_do_not_move_the_stopping_point() {
  Exponential base = exact_exponential();
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.02);
  for (double& y : base.y) y += noise(rng);
  const double start[] = {1.0, 0.5, 0.0};
  const double inf = std::numeric_limits<double>::infinity();
  const double lo[] = {-inf, -inf, -inf}, hi[] = {inf, inf, inf};
  const auto ref = energylens::levenberg_marquardt(base.x.size(), 3, base, start, lo, hi);
  check(ref.converged, "unit fit converges");
  const double units[][2] = {{1e-9, 1.0}, {1.0, 1e9}, {1e6, 1e-6}, {1e-3, 1e12}};
  for (const auto& uv : units) {
    const double u = uv[0], v = uv[1];
    Exponential p = base;
    for (double& x : p.x) x *= u;
    for (double& y : p.y) y *= v;
    const double scaled_start[] = {start[0] * v, start[1] / u, start[2] * v};
    const auto r = energylens::levenberg_marquardt(p.x.size(), 3, p, scaled_start, lo, hi);
    const double back[] = {r.params[0] / v, r.params[1] * u, r.params[2] / v};
    bool same = r.converged && r.status == ref.status && r.iterations == ref.iterations &&
                std::abs(r.cost / (v * v) - ref.cost) <= 1e-9 * ref.cost;
    for (int j = 0; j < 3; ++j) same = same && std::abs(back[j] - ref.params[j]) <= 1e-8 * std::abs(ref.params[j]);
    if (!same)
      std::printf("units x %g, y %g: status %s after %d (unit fit: %s after %d), cost %.17g vs %.17g\n", u, v,
                  energylens::to_string(r.status), r.iterations, energylens::to_string(ref.status), ref.iterations,
                  r.cost / (v * v), ref.cost);
    check(same, "a fit in other units stops where the unit fit stops");
  }
}

void test_non_convergence_is_reported() {
  const Exponential p = exact_exponential();
  energylens::LeastSquaresOptions o;
  o.max_iterations = 1;
  const double start[] = {1.0, 0.5, 0.0}, lo[] = {0.0, 0.0, -10.0}, hi[] = {10.0, 10.0, 10.0};
  const auto r = energylens::levenberg_marquardt(p.x.size(), 3, p, start, lo, hi, o);
  check(!r.converged && r.status == energylens::FitStatus::MaxIterations, "max_iterations reported, not thrown");
}

void test_bad_arguments_throw_invalid_argument() {
  Exponential p;
  p.x = {0.0};
  p.y = {1.0};
  const double start[] = {1.0, 0.5, 0.0}, lo[] = {0.0, 2.0, -10.0}, hi[] = {10.0, 1.0, 10.0};
  bool thrown = false;
  try {
    energylens::levenberg_marquardt(1, 3, p, start, lo, hi);
  } catch (const std::invalid_argument&) {
    thrown = true;
  }
  check(thrown, "lower > upper throws std::invalid_argument");

  // A negative initial damping never left the damping loop (a hang); 0 or NaN gave up at once.
  const double good_lo[] = {0.0, 0.0, -10.0}, good_hi[] = {10.0, 10.0, 10.0};
  auto rejects = [&](void (*set)(energylens::LeastSquaresOptions&), const char* name) {
    energylens::LeastSquaresOptions o;
    set(o);
    bool named = false;
    try {
      energylens::levenberg_marquardt(1, 3, p, start, good_lo, good_hi, o);
    } catch (const std::invalid_argument& e) {
      named = std::string(e.what()).find(name) != std::string::npos;
    }
    check(named, name);
  };
  rejects([](energylens::LeastSquaresOptions& o) { o.initial_damping = -1.0; }, "initial_damping");
  rejects([](energylens::LeastSquaresOptions& o) { o.initial_damping = 0.0; }, "initial_damping");
  rejects([](energylens::LeastSquaresOptions& o) { o.initial_damping = std::nan(""); }, "initial_damping");
  rejects([](energylens::LeastSquaresOptions& o) { o.initial_damping = HUGE_VAL; }, "initial_damping");
  rejects([](energylens::LeastSquaresOptions& o) { o.ftol = -1e-8; }, "ftol");
  rejects([](energylens::LeastSquaresOptions& o) { o.xtol = std::nan(""); }, "xtol");
  rejects([](energylens::LeastSquaresOptions& o) { o.gtol = HUGE_VAL; }, "gtol");
  energylens::LeastSquaresOptions zero_tolerances;
  zero_tolerances.ftol = zero_tolerances.xtol = zero_tolerances.gtol = 0.0;
  energylens::validate(zero_tolerances);  // 0 is allowed: run to max_iterations
}

void test_energy_template_descriptor() {
  const auto& d = energylens::describe(energylens::TemplateId::Energy);
  check(d.n_params == 12, "energy template has 12 parameters");
  for (std::size_t j = 0; j < d.n_params; ++j)
    check(d.lower[j] <= d.init[j] && d.init[j] <= d.upper[j], "init inside bounds");
}

// The vectorisable log of the fitter's residuals against std::log: within 1 ulp over the whole normal
// range and near 1 (where the residuals live), and special inputs handed to std::log.
void test_fast_log_matches_std_log() {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-1021.0, 1023.0), near_one(-1e-3, 1e-3);
  double worst_ulp = 0.0;
  auto ulps = [](double got, double want) {
    if (want == 0.0) return got == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
    const double ulp = std::nextafter(std::abs(want), std::numeric_limits<double>::infinity()) - std::abs(want);
    return std::abs(got - want) / ulp;
  };
  for (int i = 0; i < 200000; ++i) {
    const double x = i % 2 == 0 ? std::exp2(exponent(rng)) : 1.0 + near_one(rng);
    worst_ulp = std::max(worst_ulp, ulps(energylens::log_positive_normal(x), std::log(x)));
  }
  for (double x : {1.0, 2.0, 0.5, DBL_MIN, DBL_MAX, 0.7071067811865475, 1.4142135623730951})
    worst_ulp = std::max(worst_ulp, ulps(energylens::log_positive_normal(x), std::log(x)));
  std::printf("fast log: worst %.2f ulp\n", worst_ulp);
  check(worst_ulp <= 1.0, "fast log within 1 ulp of std::log");
  check(energylens::log_positive_normal(1.0) == 0.0, "log(1) == 0 exactly");

  std::vector<double> v = {1.5, 0.0, -1.0, std::numeric_limits<double>::infinity(), std::nan(""), DBL_MIN / 4};
  const std::vector<double> in = v;
  energylens::log_in_place(v.size(), v.data());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double want = std::log(in[i]);
    check((std::isnan(want) && std::isnan(v[i])) || v[i] == want, "special inputs go to std::log");
  }
}

}  // namespace

// After a multi-start fit: a parameter no residual depends on goes back from the winning start's shift to the
// start value; one the residuals depend on, or one the fit moved, stays where the fit left it.
void test_restore_unseen_starts() {
  const Exponential p = exact_exponential();
  // theta[3] is read by no residual; theta[0..2] as in Exponential
  const energylens::ResidualFunction fn = [&p](const double* t, double* r, double* jac) {
    p(t, r, nullptr);
    if (jac != nullptr) throw std::logic_error("restore_unseen_starts needs no Jacobian");
  };
  const std::size_t m = p.x.size();
  const std::vector<double> start = {1.0, 0.5, 0.0, 0.5}, tried = {1.3, 1.5, 0.2, 0.8};
  std::vector<double> params = {3.0, 1.5, 0.5, 0.8};  // b left at its shifted start; the unused one too
  const std::size_t n = energylens::restore_unseen_starts(m, fn, start, tried, params);
  check(n == 1 && params[3] == 0.5, "the parameter no residual reads is back at its start value");
  check(params[0] == 3.0 && params[1] == 1.5 && params[2] == 0.5, "the parameters the residuals read are kept");
  std::vector<double> unshifted = {3.0, 1.5, 0.5, 0.8};
  check(energylens::restore_unseen_starts(m, fn, tried, tried, unshifted) == 0 && unshifted[3] == 0.8,
        "a start that was not shifted changes nothing");
}

int main() {
  test_restore_unseen_starts();
  test_fast_log_matches_std_log();
  test_recovers_exact_parameters();
  test_bounds_are_honoured();
  test_units_do_not_move_the_stopping_point();
  test_non_convergence_is_reported();
  test_bad_arguments_throw_invalid_argument();
  test_energy_template_descriptor();
  return energylens::testing::finish("test_least_squares");
}
