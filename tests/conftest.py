"""Suite-wide guards."""

MIN_TESTS = 100  # a run that collects fewer tests than this is broken, not green


def pytest_collection_finish(session):
    # "no tests ran" must be impossible: a full run that collects almost nothing fails loudly.
    # (Runs that select a subset with -k or explicit paths are left alone.)
    cfg = session.config
    if cfg.getoption("keyword") or cfg.getoption("markexpr") or cfg.args != cfg.getini("testpaths"):
        return
    if len(session.items) < MIN_TESTS:
        raise SystemExit(f"only {len(session.items)} tests collected; expected at least {MIN_TESTS}")


def pytest_configure(config):
    # the fast lane while working: python -m pytest -n 2 -q -m "not slow"; a plain run (CI) runs everything
    config.addinivalue_line("markers", "slow: minutes of work (torch differential, mypy end-to-end, fresh "
                                       "environments); skipped by the fast lane -m \"not slow\"")
