"""Options for the whole suite: ``--overwrite`` rewrites the golden files in tests/golden/ (see test_golden.py)."""


def pytest_addoption(parser):
    parser.addoption("--overwrite", action="store_true", default=False,
                     help="rewrite tests/golden/*.out from the current output instead of comparing")
