"""Providers against fakes: Prometheus and web servers on httpx.MockTransport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
import pytest

from router.analysis import (
    PROVIDER_NAMES,
    AnalysisSpec,
    JudgeState,
    Measurement,
    MetricSpec,
    Phase,
    ProviderError,
    ProviderName,
    SpecError,
    judge,
)
from router.analysis.providers import (
    PROVIDERS,
    BuiltinProvider,
    PrometheusProvider,
    ProviderContext,
    WebProvider,
    Window,
    make_provider,
    make_providers,
    measure_all,
    render_query,
    render_url,
)

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
WINDOW = Window("fraud", "7", "6", T0, T0 + timedelta(minutes=5))


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _vector(*values: str) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": {}, "value": [1767614700.0, v]} for v in values],
        },
    }


PROM = MetricSpec(
    name="p99",
    provider="prometheus",
    kind="custom",
    query='histogram_quantile(0.99, rate(lat_bucket{model="$model",version="$version"}[$window]))',
    max=0.5,
)


def test_provider_names_match_the_factories() -> None:
    assert set(PROVIDERS) == set(PROVIDER_NAMES) == set(get_args(ProviderName))


# --- prometheus ------------------------------------------------------------------------------


def test_prometheus_queries_each_version_with_placeholders_filled() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        version = "7" if 'version="7"' in request.url.params["query"] else "6"
        return httpx.Response(200, json=_vector("0.25" if version == "7" else "0.1"))

    provider = PrometheusProvider("http://prom:9090/", client=_client(handler))
    candidate, baseline = provider.measure(PROM, WINDOW)
    assert candidate == Measurement(value=0.25) and baseline == Measurement(value=0.1)
    assert [u.path for u in seen] == ["/api/v1/query", "/api/v1/query"]
    assert seen[0].params["query"] == (
        'histogram_quantile(0.99, rate(lat_bucket{model="fraud",version="7"}[300s]))'
    )
    assert float(seen[0].params["time"]) == WINDOW.until.timestamp()


def test_prometheus_query_without_version_runs_once() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}
        )

    m = PROM.model_copy(update={"query": "sum(up)"})
    assert PrometheusProvider("http://p", client=_client(handler)).measure(m, WINDOW) == (
        Measurement(value=3.0),
        None,
    )
    assert len(calls) == 1


def test_label_values_are_escaped() -> None:
    window = Window('we"ird', "a\\b", None, T0, T0)
    assert render_query('x{m="$model",v="$version"}[$window]', window, "a\\b") == (
        'x{m="we\\"ird",v="a\\\\b"}[1s]'
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [(_vector(), None), (_vector("NaN"), None), (_vector("+Inf"), float("inf"))],
)
def test_prometheus_no_data_and_special_values(
    body: dict[str, Any], expected: float | None
) -> None:
    provider = PrometheusProvider(
        "http://p", client=_client(lambda r: httpx.Response(200, json=body))
    )
    candidate, _ = provider.measure(PROM, WINDOW)
    assert (candidate.value if candidate else None) == expected


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, json=_vector("1", "2")), "returned 2 series; aggregate"),
        (
            httpx.Response(400, json={"status": "error", "error": "parse error at char 5"}),
            "HTTP 400: parse error at char 5",
        ),
        (httpx.Response(503, text="overloaded"), "HTTP 503: overloaded"),
        (httpx.Response(200, text="<html>"), "not JSON"),
        (
            httpx.Response(
                200, json={"status": "success", "data": {"resultType": "matrix", "result": []}}
            ),
            "cannot judge a 'matrix'",
        ),
        (httpx.Response(200, json=_vector("abc")), "expected a number"),
        (httpx.Response(200, json={"status": "error", "error": "boom"}), "query failed: boom"),
    ],
)
def test_prometheus_failures_are_provider_errors(response: httpx.Response, match: str) -> None:
    provider = PrometheusProvider("http://p", client=_client(lambda r: response))
    with pytest.raises(ProviderError, match=match):
        provider.measure(PROM, WINDOW)


def test_prometheus_timeout_is_a_provider_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    provider = PrometheusProvider("http://p", client=_client(handler), timeout_s=5.0)
    with pytest.raises(ProviderError, match="no answer within 5 s"):
        provider.measure(PROM, WINDOW)


def test_prometheus_connection_error_is_a_provider_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderError, match="ConnectError: refused"):
        PrometheusProvider("http://p", client=_client(handler)).measure(PROM, WINDOW)


# --- web -------------------------------------------------------------------------------------

WEB = MetricSpec(
    name="biz",
    provider="web",
    kind="custom",
    query="http://metrics.local/api/$model/versions/$version?window=5m",
    json_path="$.data.value",
    relative_max=1.2,
)


def test_web_picks_the_number_for_each_version() -> None:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        value = 12 if "/versions/7" in request.url.path else "10.5"
        return httpx.Response(200, json={"data": {"value": value}})

    candidate, baseline = WebProvider(client=_client(handler)).measure(WEB, WINDOW)
    assert candidate == Measurement(value=12.0) and baseline == Measurement(value=10.5)
    assert urls[0] == "http://metrics.local/api/fraud/versions/7?window=5m"


def test_web_url_values_are_encoded() -> None:
    window = Window("a b", "v/1", None, T0, T0)
    assert render_url("http://x/$model/$version", window, "v/1") == "http://x/a%20b/v%2F1"


def test_web_without_path_takes_the_body_and_null_is_no_data() -> None:
    m = WEB.model_copy(update={"json_path": None, "query": "http://x/q"})
    assert WebProvider(client=_client(lambda r: httpx.Response(200, json=7))).measure(
        m, WINDOW
    ) == (
        Measurement(value=7.0),
        None,
    )
    body = {"data": {"value": None}}
    candidate, _ = WebProvider(client=_client(lambda r: httpx.Response(200, json=body))).measure(
        WEB, WINDOW
    )
    assert candidate is None


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"data": {}}, r"\$\.data has no key 'value'"),
        ({"data": {"value": True}}, "expected a number"),
        ({"data": {"value": [1]}}, "expected a number, got list"),
    ],
)
def test_web_bad_bodies_are_provider_errors(body: object, match: str) -> None:
    provider = WebProvider(client=_client(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(ProviderError, match=match):
        provider.measure(WEB, WINDOW)


def test_web_http_error_is_a_provider_error() -> None:
    provider = WebProvider(client=_client(lambda r: httpx.Response(500, text="oops")))
    with pytest.raises(ProviderError, match="web metric 'biz' \\(7\\): HTTP 500: oops"):
        provider.measure(WEB, WINDOW)


# --- builtin ---------------------------------------------------------------------------------


def test_builtin_reads_both_versions_once_per_window() -> None:
    reads: list[tuple[str, str]] = []

    def read(model: str, version: str, since: datetime, until: datetime) -> Measurement | None:
        reads.append((model, version))
        assert (since, until) == (WINDOW.since, WINDOW.until)
        return Measurement(requests=100 if version == "7" else 900)

    provider = BuiltinProvider(read)
    m = MetricSpec(name="e", max=0.1)
    first = provider.measure(m, WINDOW)
    second = provider.measure(m.model_copy(update={"name": "f"}), WINDOW)
    assert first == second == (Measurement(requests=100), Measurement(requests=900))
    assert reads == [("fraud", "7"), ("fraud", "6")]


def test_builtin_without_baseline_and_reader_failures() -> None:
    provider = BuiltinProvider(lambda *a: Measurement(requests=1))
    window = Window("fraud", "7", None, T0, T0)
    assert provider.measure(MetricSpec(name="e", max=0.1), window) == (
        Measurement(requests=1),
        None,
    )

    def broken(*args: object) -> Measurement | None:
        raise RuntimeError("database is locked")

    with pytest.raises(ProviderError, match="database is locked"):
        BuiltinProvider(broken).measure(MetricSpec(name="e", max=0.1), WINDOW)


# --- factories and measure_all ---------------------------------------------------------------


def test_factories_need_their_configuration() -> None:
    with pytest.raises(SpecError, match="telemetry reader"):
        make_provider("builtin", ProviderContext())
    with pytest.raises(SpecError, match="Prometheus server's URL"):
        make_provider("prometheus", ProviderContext())
    with pytest.raises(SpecError, match="unknown metric provider 'datadog'"):
        make_provider("datadog", ProviderContext())
    assert isinstance(make_provider("web", ProviderContext()), WebProvider)


def test_measure_all_feeds_the_judge() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "prom":
            return httpx.Response(503, text="down")
        return httpx.Response(200, json={"data": {"value": 1.0}})

    spec = AnalysisSpec(metrics=(MetricSpec(name="e", max=0.05), PROM, WEB))
    ctx = ProviderContext(
        read_builtin=lambda model, version, since, until: Measurement(requests=1000, errors=1),
        prometheus_url="http://prom",
        http=_client(handler),
    )
    providers = make_providers(spec, ctx)
    assert sorted(providers) == ["builtin", "prometheus", "web"]
    measured = measure_all(spec, WINDOW, providers)
    assert set(measured.measurements) == {"e", "biz"}
    assert "HTTP 503: down" in measured.errors["p99"]
    verdict, _ = judge(
        spec,
        None,
        None,
        JudgeState(),
        measurements=measured.measurements,
        provider_errors=measured.errors,
        deadline_passed=True,
    )
    assert verdict.metric("e").phase is Phase.SUCCESSFUL
    assert verdict.metric("biz").phase is Phase.SUCCESSFUL
    assert verdict.metric("p99").phase is Phase.PENDING  # 1 error of 4 allowed
    json.dumps(verdict.to_dict())


def test_measure_all_reports_a_missing_provider() -> None:
    spec = AnalysisSpec(metrics=(PROM,))
    assert measure_all(spec, WINDOW, {}).errors == {"p99": "provider 'prometheus' is not set up"}
