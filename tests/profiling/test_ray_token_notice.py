"""``energylens profile --ray local`` printed Ray's notice 'Token authentication is enabled for this Ray cluster. Set
RAY_AUTH_MODE=disabled to opt out. ...' on stderr (Ray 2.5x, RAY_AUTH_MODE unset: a bare logging warning of
ray._private.authentication.authentication_token_setup, which reaches stderr through Python's last-resort handler as
ray.init runs with configure_logging=False). The local cluster is the sweep's own, started and shut down by it, so
the notice is dropped while it starts; Ray's other warnings and errors, of that logger too, still show."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import types

import pytest

from energylens.profiling.ray_runner import _init_keeping_sigterm

NOTICE = ("Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out. For more "
          "information, see https://docs.ray.io/en/latest/ray-security/token-auth.html")
LOGGER = "ray._private.authentication.authentication_token_setup"


def _fake_ray(calls: list) -> types.SimpleNamespace:
    def init(**kwargs):
        calls.append(kwargs)
        logging.getLogger(LOGGER).warning(NOTICE)
        logging.getLogger(LOGGER).warning("Token authentication is enabled but no token was found")
        logging.getLogger("ray").error("something real went wrong")
    return types.SimpleNamespace(init=init, shutdown=lambda: None)


class _Said(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _rays_messages():
    """What reaches the "ray" logger, whatever Ray's own logging set-up: once the real ray is imported in this
    process (another test on this worker) "ray" stops propagating to the root, where caplog listens (the
    clean-clone CI of 2026-12-07 failed both tests below so, with the messages on stderr)."""
    ray_logger, said = logging.getLogger("ray"), _Said()
    level = ray_logger.level
    ray_logger.setLevel(logging.WARNING)
    ray_logger.addHandler(said)
    try:
        yield said.messages
    finally:
        ray_logger.removeHandler(said)
        ray_logger.setLevel(level)


@pytest.fixture(params=[True, False], ids=["ray-propagates", "ray-imported-stops-propagation"])
def ray_propagation(request, monkeypatch):
    monkeypatch.setattr(logging.getLogger("ray"), "propagate", request.param)


def test_the_local_clusters_token_notice_is_dropped_and_rays_other_messages_kept(ray_propagation):
    calls: list = []
    with _rays_messages() as said:
        _init_keeping_sigterm(_fake_ray(calls), "local")
        logging.getLogger(LOGGER).warning(NOTICE)  # after the start: the filter is gone again
    assert calls and said == ["Token authentication is enabled but no token was found", "something real went wrong",
                              NOTICE], said


def test_a_cluster_the_user_named_keeps_rays_notice(ray_propagation):
    with _rays_messages() as said:
        _init_keeping_sigterm(_fake_ray([]), "ray://head:10001")
    assert NOTICE in said


@pytest.mark.ray
def test_a_real_local_start_prints_no_token_notice(tmp_path):
    pytest.importorskip("ray", reason="needs Ray (pip install 'energylens[ray]')")
    code = ("import ray\nfrom energylens.profiling.ray_runner import _init_keeping_sigterm\n"
            "_init_keeping_sigterm(ray, 'local')\nray.shutdown()\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Token authentication" not in done.stderr, done.stderr
