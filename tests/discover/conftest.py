"""Shared checks of the expression-engine tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def jacobian_matches_central_differences():
    """``check(c, cols, atol_frac)``: every column of compiled ``c``'s Jacobian at its start constants equals
    the central difference of its values (rtol 1e-5, atol ``atol_frac`` x the difference's largest size)."""

    def check(c, cols, atol_frac: float) -> None:
        _, jac = c.evaluate(cols, jacobian=True)
        for j in range(len(c.start)):
            h = 1e-6 * max(1.0, abs(c.start[j]))
            up, dn = c.start.copy(), c.start.copy()
            up[j] += h
            dn[j] -= h
            fd = (c.evaluate(cols, up) - c.evaluate(cols, dn)) / (2 * h)
            np.testing.assert_allclose(jac[:, j], fd, rtol=1e-5, atol=atol_frac * np.max(np.abs(fd)),
                                       err_msg=c.param_names[j])

    return check
