"""Suite-wide guards: "no tests ran" is a failure, never a quiet exit 5 or a green run of nothing."""

import pytest

MIN_TESTS = 100  # a full run that collects fewer tests than this is broken, not green

_DESELECTED = []  # how many items -k, -m, --lf and the like deselected (one entry per call)
_RAN = ("passed", "failed", "xfailed", "xpassed", "error")


def pytest_deselected(items):
    _DESELECTED.append(len(items))


def pytest_collection_finish(session):
    # A full run (no paths named) that collects almost nothing fails loudly. Tests deselected by -k, -m
    # or --lf still count as collected: they exist.
    cfg = session.config
    if cfg.args != cfg.getini("testpaths"):
        return
    found = len(session.items) + sum(_DESELECTED)
    if found < MIN_TESTS:
        raise pytest.UsageError(f"only {found} tests collected; expected at least {MIN_TESTS}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # However the tests were selected, a session that ran none of them (nothing collected, everything
    # deselected or skipped) fails with exit 1 and says so, so that no caller can take it for success.
    cfg = session.config
    if hasattr(cfg, "workerinput") or cfg.option.collectonly:
        return  # an xdist worker: the controller judges the whole run
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        return
    reporter = cfg.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        ran = sum(len(reporter.stats.get(k, ())) for k in _RAN)
    else:
        ran = session.testscollected if exitstatus == pytest.ExitCode.OK else 0
    if ran == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        message = "no test ran (none collected, or every one deselected or skipped): that is a failure"
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        else:
            print(message)
