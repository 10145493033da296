"""The case counts the hostile-input suites print at the end of a run."""

import collections

__all__ = ["new_counts", "report_counts"]


def new_counts():
    """A counter of (entry point, outcome) -> generated cases."""
    return collections.Counter()


def report_counts(request, counts, title):
    """Print ``counts`` per entry point through pytest's terminal reporter.

    Parameters
    ----------
    request : pytest.FixtureRequest
    counts : Counter of (str, str) -> int
        Outcomes ``'ok'`` and ``'refused'`` per entry point.
    title : str
        The heading line.
    """
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(title)
        for entry in sorted({entry for entry, _ in counts}):
            ok, refused = counts[entry, "ok"], counts[entry, "refused"]
            reporter.write_line(f"  {entry:<28} {ok + refused:5d}  ({ok} / {refused})")
