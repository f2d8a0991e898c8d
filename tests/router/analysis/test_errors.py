from __future__ import annotations

from router.analysis import AnalysisError, ProviderError, SpecError, StateError


def test_every_error_is_an_analysis_error() -> None:
    for cls in (SpecError, StateError, ProviderError):
        assert issubclass(cls, AnalysisError)
    assert issubclass(AnalysisError, Exception)


def test_errors_do_not_catch_each_other() -> None:
    assert not issubclass(SpecError, ProviderError)
    assert not issubclass(ProviderError, SpecError)
