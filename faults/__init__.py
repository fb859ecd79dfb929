"""Jepsen-style fault scenarios against a real `taskhub serve` process (issue 5, section 3).

`python -m faults.run` (`make faults`) runs every scenario and prints one
`acknowledged N, lost M` line each; tests/faults/ runs the same scenarios under pytest.
"""
