"""Prints the conformance depth figures (operations driven to a 2xx, failures) after the run."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    """One line per API fuzzed by tests/conformance/test_contract.py."""
    from tests.conformance.test_contract import SUMMARY

    if SUMMARY:
        terminalreporter.write_sep("=", "contract depth (schemathesis, every phase and check)")
        for line in SUMMARY:
            terminalreporter.write_line(line)
