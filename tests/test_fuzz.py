"""The fast subset of the fuzz harness (``benchmarks/fuzz_inputs.py``, issue 11): every class
of bad input (files, image and depth content, options, configs, SIGTERM at each stage,
concurrent runs) gives no traceback, exit 0 or 2 (143 for SIGTERM), nothing outside
``--out``, no temporary file, no partial output set and no non-finite vertex."""
from __future__ import annotations

from benchmarks.fuzz_inputs import fast_cases, report, run_cases


def test_the_fast_fuzz_subset_finds_no_defect():
    cases = fast_cases()
    assert len(cases) >= 80 and len({c.klass for c in cases}) == 7
    outcomes = run_cases(cases)
    assert not any(o.defects for o in outcomes), report(outcomes)
