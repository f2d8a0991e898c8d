"""The drift policy: which statistic per feature, and what its value means for a window.

Pure (standard library, numpy, scipy). ``evaluate`` takes per-feature counts (built by
``monitors.check`` from a profile and a live sketch, or from two tables) and returns a
``DriftResult`` that serialises to JSON. The rules, in order (docs/drift.md tells why):

1. **Method.** Evidently's default choice, by the reference's row count and the
   feature's distinct values, unless ``DriftPolicy.methods`` overrides it per feature
   (``default_method``).
2. **Distances** (``psi``, ``jensenshannon``, ``wasserstein``) are judged against
   thresholds calibrated on the reference itself for the window size in use: a
   parametric bootstrap draws a reference and a window of the observed sizes from the
   reference's own bin shares, computes the statistic, fits a gamma distribution to its
   mean and variance and takes its upper ``alpha / m`` quantile (``m`` features: the
   alpha levels hold for the whole window, Bonferroni). The threshold is never below
   the method's smallest effect worth reporting (``MIN_EFFECT``).
3. **Tests** (``ks``, ``chisquare``, ``z``) are judged by Benjamini-Hochberg adjusted
   p-values across the tested features, and their effect size (KS D, total variation,
   the difference of proportions) must also reach ``MIN_EFFECT``: at large windows
   a p-value alone flags differences too small to matter.
4. **Bands.** DRIFT at ``alpha_drift``, WARN at ``alpha_warn``, else OK; NO_DATA when a
   side has no values. Data quality (missing, out-of-range, unseen categories) has its
   own band per feature.
5. **Dataset verdict.** DRIFT when any feature is DRIFT (each feature's DRIFT level is
   already corrected for the number of features) or when the share of drifted features
   reaches ``drift_share`` (Evidently's rule); WARN when any feature or any data quality
   check is WARN or a quality check is DRIFT; OK otherwise.
6. **Hysteresis.** ``AlertState.step`` raises an alert after ``raise_after``
   consecutive DRIFT windows and clears it after ``clear_after`` consecutive OK ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Final, Literal, cast, get_args

import numpy as np
import numpy.typing as npt
from scipy import special as _special

from monitors import stats
from monitors.binning import support_atoms
from monitors.errors import NotEnoughData, PolicyError

__all__ = [
    "DEFAULT_POLICY",
    "MIN_EFFECT",
    "AlertEvent",
    "AlertState",
    "Band",
    "DriftPolicy",
    "DriftResult",
    "FeatureInput",
    "FeatureResult",
    "Kind",
    "Method",
    "NullModel",
    "QualityResult",
    "benjamini_hochberg",
    "calibrate",
    "default_method",
    "evaluate",
    "evaluate_feature",
]

Band = Literal["OK", "WARN", "DRIFT", "NO_DATA"]
Kind = Literal["numeric", "categorical"]
Method = Literal["psi", "jensenshannon", "wasserstein", "ks", "chisquare", "z"]
AlertEvent = Literal["raise", "clear"]

METHODS: Final = frozenset(get_args(Method))
DISTANCES: Final = frozenset({"psi", "jensenshannon", "wasserstein"})
TESTS: Final = frozenset({"ks", "chisquare", "z"})
NUMERIC_ONLY: Final = frozenset({"wasserstein", "ks"})

# Evidently's switch-over points (its default stattest choice).
SMALL_REFERENCE_ROWS: Final = 1000
FEW_VALUES: Final = 5

# The smallest effect worth a WARN / a DRIFT, per method, on the value the policy
# judges: the distance itself; KS D; total variation for chi-square; |share difference|
# for the z-test. Low enough that a 0.1 sd mean shift (normed Wasserstein ~0.09, PSI
# ~0.009 and JS ~0.04 on 10 quantile bins, KS D ~0.04) still counts; raise them when
# windows are huge and such shifts do not matter.
MIN_EFFECT: Final[Mapping[str, tuple[float, float]]] = {
    "psi": (0.002, 0.005),
    "jensenshannon": (0.015, 0.025),
    "wasserstein": (0.02, 0.04),
    "ks": (0.02, 0.03),
    "chisquare": (0.01, 0.02),
    "z": (0.01, 0.02),
}

_RANK: Final[Mapping[str, int]] = {"NO_DATA": 0, "OK": 1, "WARN": 2, "DRIFT": 3}


def _worst(bands: Iterable[Band]) -> Band:
    out: Band = "OK"
    for b in bands:
        if _RANK[b] > _RANK[out]:
            out = b
    return out


# --- configuration --------------------------------------------------------------------


@dataclass(frozen=True)
class DriftPolicy:
    """The knobs of the verdict; the defaults are what ``turnout`` ships.

    ``alpha_warn`` / ``alpha_drift``: the chance that a window of undrifted data reaches
    WARN / DRIFT on some feature (the levels are split across the window's features).
    ``min_effect`` overrides ``MIN_EFFECT`` per method. ``methods`` overrides the
    default method per feature name. ``draws`` and ``seed`` fix the calibration's
    bootstrap, so the same inputs always give the same verdict. ``drift_share``: the
    share of drifted features that makes the dataset drift even without any single
    DRIFT (Evidently's 0.5). ``quality_warn`` / ``quality_drift``: the excess over the
    reference rate (missing, out-of-range, unseen) a quality check must reach, besides
    a one-sided binomial p-value below ``quality_p_warn`` / ``quality_p_drift``.
    """

    alpha_warn: float = 0.01
    alpha_drift: float = 0.001
    min_effect: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    methods: Mapping[str, Method] = field(default_factory=dict)
    draws: int = 256
    seed: int = 0
    drift_share: float = 0.5
    quality_warn: float = 0.01
    quality_drift: float = 0.05
    quality_p_warn: float = 1e-4
    quality_p_drift: float = 1e-6

    def __post_init__(self) -> None:
        if not 0 < self.alpha_drift <= self.alpha_warn < 1:
            raise PolicyError(
                f"need 0 < alpha_drift <= alpha_warn < 1, got {self.alpha_drift} and "
                f"{self.alpha_warn}"
            )
        for name, method in self.methods.items():
            if method not in METHODS:
                raise PolicyError(
                    f"feature {name!r}: unknown method {method!r} "
                    f"(choose from {', '.join(sorted(METHODS))})"
                )
        for effect_method, (warn, drift) in self.min_effect.items():
            if effect_method not in METHODS:
                raise PolicyError(f"min_effect names an unknown method {effect_method!r}")
            if not 0 <= warn <= drift:
                raise PolicyError(f"min_effect for {effect_method}: need 0 <= warn <= drift")
        if self.draws < 32:
            raise PolicyError(f"draws must be at least 32, got {self.draws}")
        if not 0 < self.drift_share <= 1:
            raise PolicyError(f"drift_share must be in (0, 1], got {self.drift_share}")
        if not 0 <= self.quality_warn <= self.quality_drift <= 1:
            raise PolicyError("need 0 <= quality_warn <= quality_drift <= 1")

    def effect_floor(self, method: str) -> tuple[float, float]:
        return self.min_effect.get(method, MIN_EFFECT[method])

    def settings(self) -> dict[str, Any]:
        """The values a stored result needs to be explained later."""
        return {
            "alpha_warn": self.alpha_warn,
            "alpha_drift": self.alpha_drift,
            "draws": self.draws,
            "seed": self.seed,
            "drift_share": self.drift_share,
            "min_effect": {m: list(self.effect_floor(m)) for m in sorted(METHODS)},
            "methods": dict(self.methods),
        }


DEFAULT_POLICY: Final = DriftPolicy()


def default_method(kind: Kind, n_unique: int, reference_rows: int) -> Method:
    """Evidently's default: with at most 1000 reference rows, KS for numeric features
    with more than 5 distinct values, else chi-square (the z-test for at most 2
    values); with more rows, normed Wasserstein for numeric features with more than 5
    distinct values, else Jensen-Shannon. ``n_unique`` counts the reference's values."""
    many = kind == "numeric" and n_unique > FEW_VALUES
    if reference_rows <= SMALL_REFERENCE_ROWS:
        if many:
            return "ks"
        return "z" if n_unique <= 2 else "chisquare"
    return "wasserstein" if many else "jensenshannon"


# --- inputs and results ---------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class FeatureInput:
    """One feature of one window, as counts on the reference's bins or categories.

    ``reference_counts`` / ``current_counts`` hold present values only, on the same
    cells: the quantile bins of a numeric feature (``edges`` has one more entry) or
    the categories of a categorical one (``labels``). ``*_rows`` include missing
    values. ``out_of_range`` (numeric) counts window values outside the reference's
    finite range; ``unseen`` (categorical) counts window values the reference never
    had, or is None when that cannot be told apart from rare reference values.
    ``constant`` says the reference held one distinct value. On a support grid
    (``monitors.binning.support_atoms``), ``unseen`` counts window values that are
    none of the reference's values. ``n_unique`` may be a lower bound above
    ``monitors.binning.MAX_SUPPORT_VALUES`` (the offline check does not count the values
    of a large continuous reference; every rule reads it only up to 50). The samples
    are optional raw values (finite numbers, in any order) used by KS when both are
    given; ``complete_samples`` says they are every finite value of both sides (the
    offline check), so the Wasserstein distance of a feature on a support grid is taken
    exactly on them (see ``_wasserstein``).
    """

    name: str
    kind: Kind
    reference_counts: FloatArray
    current_counts: FloatArray
    reference_rows: int
    current_rows: int
    reference_missing: int
    current_missing: int
    n_unique: int
    edges: FloatArray | None = None
    labels: tuple[str, ...] | None = None
    reference_std: float | None = None
    out_of_range: int | None = None
    unseen: int | None = None
    constant: bool = False
    reference_sample: FloatArray | None = None
    current_sample: FloatArray | None = None
    complete_samples: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualityResult:
    """Data quality of one feature in the window, and its band."""

    missing_rate: float | None
    reference_missing_rate: float | None
    out_of_range_rate: float | None = None
    unseen_rate: float | None = None
    band: Band = "OK"
    issues: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing_rate": _json_float(self.missing_rate),
            "reference_missing_rate": _json_float(self.reference_missing_rate),
            "out_of_range_rate": _json_float(self.out_of_range_rate),
            "unseen_rate": _json_float(self.unseen_rate),
            "band": self.band,
            "issues": list(self.issues),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> QualityResult:
        return cls(
            missing_rate=doc.get("missing_rate"),
            reference_missing_rate=doc.get("reference_missing_rate"),
            out_of_range_rate=doc.get("out_of_range_rate"),
            unseen_rate=doc.get("unseen_rate"),
            band=_band(doc.get("band", "OK")),
            issues=tuple(doc.get("issues", ())),
        )


@dataclass(frozen=True)
class FeatureResult:
    """The verdict on one feature: what was measured, against what, and the band.

    ``statistic`` is the method's own value (PSI, JS distance, normed Wasserstein, KS D,
    chi-square, z); ``effect`` the value compared with the thresholds (the distance
    itself, KS D, total variation, |share difference|). ``warn_threshold`` /
    ``drift_threshold`` apply to ``effect``: for distances the calibrated value, for
    tests the smallest effect (the p-value must also pass ``alpha_*``).
    ``p_adjusted`` is Benjamini-Hochberg across the window's tested features.
    """

    name: str
    kind: Kind
    method: Method | None
    band: Band
    statistic: float | None = None
    effect: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    warn_threshold: float | None = None
    drift_threshold: float | None = None
    reference_count: int = 0
    current_count: int = 0
    quality: QualityResult = field(default_factory=lambda: QualityResult(None, None))
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "method": self.method,
            "band": self.band,
            "statistic": _json_float(self.statistic),
            "effect": _json_float(self.effect),
            "p_value": _json_float(self.p_value),
            "p_adjusted": _json_float(self.p_adjusted),
            "warn_threshold": _json_float(self.warn_threshold),
            "drift_threshold": _json_float(self.drift_threshold),
            "reference_count": self.reference_count,
            "current_count": self.current_count,
            "quality": self.quality.to_dict(),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureResult:
        method = doc.get("method")
        if method is not None and method not in METHODS:
            raise PolicyError(f"stored feature result has an unknown method {method!r}")
        kind = doc.get("kind")
        if kind not in ("numeric", "categorical"):
            raise PolicyError(f"stored feature result has an unknown kind {kind!r}")
        return cls(
            name=str(doc["name"]),
            kind=cast(Kind, kind),
            method=cast("Method | None", method),
            band=_band(doc["band"]),
            statistic=doc.get("statistic"),
            effect=doc.get("effect"),
            p_value=doc.get("p_value"),
            p_adjusted=doc.get("p_adjusted"),
            warn_threshold=doc.get("warn_threshold"),
            drift_threshold=doc.get("drift_threshold"),
            reference_count=int(doc.get("reference_count", 0)),
            current_count=int(doc.get("current_count", 0)),
            quality=QualityResult.from_dict(doc.get("quality", {})),
            notes=tuple(doc.get("notes", ())),
        )


RESULT_VERSION: Final = 1


@dataclass(frozen=True)
class DriftResult:
    """The verdict on one window: every feature, the dataset verdict, prediction drift."""

    verdict: Band
    features: tuple[FeatureResult, ...]
    rows: int
    reference_rows: int
    drifted: tuple[str, ...] = ()
    warned: tuple[str, ...] = ()
    drift_share: float = 0.0
    prediction: FeatureResult | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def feature(self, name: str) -> FeatureResult:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON shape (no NaN / Infinity) for ``drift_reports.features``."""
        return {
            "v": RESULT_VERSION,
            "verdict": self.verdict,
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "drifted": list(self.drifted),
            "warned": list(self.warned),
            "drift_share": self.drift_share,
            "features": [f.to_dict() for f in self.features],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "settings": dict(self.settings),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> DriftResult:
        if doc.get("v") != RESULT_VERSION:
            raise PolicyError(
                f"drift result version {doc.get('v')!r} is not supported "
                f"(this build reads {RESULT_VERSION})"
            )
        prediction = doc.get("prediction")
        return cls(
            verdict=_band(doc["verdict"]),
            features=tuple(FeatureResult.from_dict(f) for f in doc.get("features", ())),
            rows=int(doc.get("rows", 0)),
            reference_rows=int(doc.get("reference_rows", 0)),
            drifted=tuple(doc.get("drifted", ())),
            warned=tuple(doc.get("warned", ())),
            drift_share=float(doc.get("drift_share", 0.0)),
            prediction=None if prediction is None else FeatureResult.from_dict(prediction),
            settings=dict(doc.get("settings", {})),
            notes=tuple(doc.get("notes", ())),
        )


def _band(value: object) -> Band:
    if value not in _RANK:
        raise PolicyError(f"unknown band {value!r}")
    return cast(Band, value)


def _json_float(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


# --- Benjamini-Hochberg ---------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float] | npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (step-up, independent or positively
    dependent tests): rejecting every ``adjusted <= q`` keeps the false discovery rate
    at most ``q``; under the global null, the chance of any rejection too."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("p-values must be a 1-D sequence")
    if p.size == 0:
        return p.copy()
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must be in [0, 1]")
    m = p.size
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    # Running minimum from the largest p-value down: the step-up rule.
    adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted_sorted, 1.0)
    return out


# --- calibration ----------------------------------------------------------------------


@dataclass(frozen=True)
class NullModel:
    """The statistic's distribution on undrifted windows, as a fitted gamma.

    ``squared``: the gamma was fitted to the square of the statistic (JS distance is
    the square root of a divergence, whose null is close to a scaled chi-square).
    """

    mean: float
    var: float
    squared: bool = False

    def quantile(self, tail: float) -> float:
        """The value exceeded with probability ``tail`` on undrifted windows."""
        if self.var <= 0 or self.mean <= 0:
            value = max(self.mean, 0.0)
        else:
            shape = self.mean**2 / self.var
            # gamma.isf(tail, shape, scale) without scipy.stats' per-call overhead.
            value = float(_special.gammainccinv(shape, tail)) * self.var / self.mean
        return math.sqrt(value) if self.squared else value


def _round_down(n: int) -> int:
    """``n`` rounded down to two significant digits: windows of similar sizes share a
    calibration, and a smaller ``n`` is the conservative side (a wider null)."""
    if n < 100:
        return n
    step: int = 10 ** (len(str(n)) - 2)
    return n // step * step


def calibrate(
    method: str,
    reference_counts: npt.ArrayLike,
    n: int,
    *,
    edges: npt.ArrayLike | None = None,
    draws: int = 256,
    seed: int = 0,
) -> NullModel:
    """Fit the null distribution of a distance for a window of ``n`` present values.

    Parametric bootstrap on the reference's own shares ``e``: each draw takes a
    reference of the reference's size and a window of ``n`` values, both
    ``Multinomial(size, e)``, and computes the statistic between them; both sides vary
    because the reference is a sample too. Deterministic for given arguments, and
    cached (``n`` rounded down to two significant digits).
    """
    counts = np.asarray(reference_counts, dtype=np.float64)
    if method not in DISTANCES:
        raise PolicyError(f"only distances are calibrated, not {method!r}")
    if n < 1 or counts.sum() <= 0:
        raise NotEnoughData("calibration needs values on both sides")
    edge_key = None if edges is None else tuple(np.asarray(edges, dtype=np.float64).tolist())
    return _calibrate_cached(
        method, tuple(counts.tolist()), _round_down(int(n)), edge_key, draws, seed
    )


@lru_cache(maxsize=4096)
def _calibrate_cached(
    method: str,
    counts: tuple[float, ...],
    n: int,
    edges: tuple[float, ...] | None,
    draws: int,
    seed: int,
) -> NullModel:
    c = np.asarray(counts)
    shares = c / c.sum()
    rng = np.random.default_rng(seed)
    ref = rng.multinomial(int(round(c.sum())), shares, size=draws).astype(np.float64)
    win = rng.multinomial(n, shares, size=draws).astype(np.float64)
    if method == "psi":
        values = stats.psi_batch(ref, win)
    elif method == "jensenshannon":
        values = stats.js_distance_batch(ref, win) ** 2
    else:
        if edges is None:
            raise PolicyError("wasserstein calibration needs the bin edges")
        values = stats.wasserstein_binned_batch(ref, win, edges)
    return NullModel(
        float(values.mean()), float(values.var(ddof=1)), squared=method == "jensenshannon"
    )


# --- evaluation -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Measured:
    method: Method
    statistic: float
    effect: float
    p_value: float | None = None
    warn: float | None = None
    drift: float | None = None
    notes: tuple[str, ...] = ()


def _present(counts: FloatArray) -> int:
    return int(round(float(counts.sum())))


def _cells(f: FeatureInput) -> tuple[FeatureInput, tuple[str, ...]]:
    """A constant numeric reference is compared as two cells: equal to the constant /
    not (out of range). Its one bin hides every move, and it has no spread to norm by."""
    if not (f.kind == "numeric" and f.constant):
        return f, ()
    moved = float(f.out_of_range or 0)
    present = float(f.current_counts.sum())
    return (
        replace(
            f,
            kind="categorical",
            reference_counts=np.array([float(f.reference_counts.sum()), 0.0]),
            current_counts=np.array([present - moved, moved]),
            edges=None,
            labels=("constant", "other"),
            n_unique=1,
        ),
        ("constant reference: compared as 'equals the constant' vs 'differs'",),
    )


def _method_for(f: FeatureInput, policy: DriftPolicy, converted: bool) -> Method:
    chosen = policy.methods.get(f.name)
    # A constant numeric feature compared as two cells keeps an override only if it
    # still applies (KS and Wasserstein need the numbers).
    if chosen is None or (converted and chosen in NUMERIC_ONLY):
        return default_method(f.kind, f.n_unique, f.reference_rows)
    return chosen


def _check_overrides(features: Sequence[FeatureInput], policy: DriftPolicy) -> None:
    for f in features:
        chosen = policy.methods.get(f.name)
        if chosen in NUMERIC_ONLY and f.kind != "numeric":
            raise PolicyError(
                f"feature {f.name!r}: {chosen} needs a numeric feature, it is {f.kind}"
            )


def _wasserstein(
    f: FeatureInput, r: FloatArray, c: FloatArray, scale: float
) -> tuple[float, tuple[str, ...]]:
    """The normed Wasserstein distance of a feature and the notes that say how.

    On quantile bins: the binned approximation (the calibration simulates the same
    statistic). On a support grid with the complete samples (offline): the exact
    distance of the raw values. Every reference value sits in an atom cell at its own
    position and the gaps are empty on the reference side, so for any window on the
    reference's values the exact distance equals the binned one, and the calibration
    (multinomial draws on the atoms) is the exact statistic's null distribution; off
    the support the exact distance says how far values moved, where the binned one
    would spread them evenly over their gap. On a grid without the samples (live):
    the binned distance, which is exact for values on the support.
    """
    assert f.edges is not None
    atoms = support_atoms(f.edges, r)
    if atoms is None:
        return stats.normed_wasserstein_binned(r, c, f.edges, scale=scale), ()
    if f.complete_samples and f.reference_sample is not None and f.current_sample is not None:
        exact = stats.wasserstein_sorted(
            _ascending(f.reference_sample), _ascending(f.current_sample)
        )
        return exact / scale, ("exact Wasserstein on the raw values (support grid)",)
    binned = stats.normed_wasserstein_binned(r, c, f.edges, scale=scale)
    return binned, (
        "Wasserstein on the support grid (a value that is none of the reference's "
        "counts at the middle of its grid cell)",
    )


def _ascending(x: FloatArray) -> FloatArray:
    # The offline check passes sorted samples; anything else is sorted here.
    return x if x.size < 2 or bool(np.all(x[1:] >= x[:-1])) else np.sort(x)


def _measure(f: FeatureInput, method: Method, m: int, policy: DriftPolicy) -> _Measured:
    r, c = f.reference_counts, f.current_counts
    floor_warn, floor_drift = policy.effect_floor(method)
    if method in DISTANCES:
        if method == "psi":
            value = stats.psi(r, c)
            scale = 1.0
        elif method == "jensenshannon":
            value = stats.js_distance(r, c)
            scale = 1.0
        else:
            if f.edges is None:
                raise PolicyError(f"feature {f.name!r}: wasserstein needs bin edges")
            std = f.reference_std
            scale = std if std is not None and std > 0 and math.isfinite(std) else 1.0
            value, distance_notes = _wasserstein(f, r, c, scale)
        null = calibrate(
            method, r, _present(c), edges=f.edges, draws=policy.draws, seed=policy.seed
        )
        warn = max(floor_warn, null.quantile(policy.alpha_warn / m) / scale)
        drift = max(floor_drift, null.quantile(policy.alpha_drift / m) / scale)
        notes = distance_notes if method == "wasserstein" else ()
        return _Measured(method, value, value, warn=warn, drift=drift, notes=notes)
    if method == "ks":
        if f.reference_sample is not None and f.current_sample is not None:
            res = stats.ks_samples(f.reference_sample, f.current_sample)
            note: tuple[str, ...] = ("KS on the raw samples",)
        else:
            res = stats.ks_binned(r, c)
            note = ("KS on the reference bins (conservative)",)
        return _Measured(
            "ks", res.statistic, res.statistic, res.p_value, floor_warn, floor_drift, note
        )
    if method == "z":
        keep = (r + c) > 0
        if np.count_nonzero(keep) <= 2:
            r2, c2 = r[keep], c[keep]
            if r2.size < 2:
                return _Measured("z", 0.0, 0.0, 1.0, floor_warn, floor_drift)
            res = stats.z_proportions(r2, c2)
            diff = abs(c2[0] / c2.sum() - r2[0] / r2.sum())
            return _Measured("z", res.statistic, float(diff), res.p_value, floor_warn, floor_drift)
        method = "chisquare"
        floor_warn, floor_drift = policy.effect_floor(method)
        fallback: tuple[str, ...] = ("more than two values seen: chi-square instead of z",)
    else:
        fallback = ()
    res = stats.chi_square(r, c)
    tv = stats.total_variation(r, c)
    return _Measured("chisquare", res.statistic, tv, res.p_value, floor_warn, floor_drift, fallback)


def _binom_sf(k: int, n: int, p0: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p0)."""
    if k <= 0:
        return 1.0
    # scipy.special.bdtrc is binom.sf without scipy.stats' per-call overhead.
    return float(_special.bdtrc(k - 1, n, min(max(p0, 0.0), 1.0)))


def _quality(f: FeatureInput, policy: DriftPolicy) -> QualityResult:
    ref_present = f.reference_rows - f.reference_missing
    cur_present = f.current_rows - f.current_missing
    missing_rate = f.current_missing / f.current_rows if f.current_rows else None
    ref_missing_rate = f.reference_missing / f.reference_rows if f.reference_rows else None
    checks: list[tuple[str, int, int, float, float]] = []  # name, k, n, p0, rate
    if f.current_rows:
        # Laplace's rule keeps p0 > 0 when the reference had no missing value.
        p0 = (f.reference_missing + 1) / (f.reference_rows + 2)
        checks.append(("missing", f.current_missing, f.current_rows, p0, missing_rate or 0.0))
    oor_rate = unseen_rate = None
    if f.out_of_range is not None and cur_present:
        oor_rate = f.out_of_range / cur_present
        # A new value falls outside the range of N reference values w.p. 2 / (N + 1).
        checks.append(
            ("out_of_range", f.out_of_range, cur_present, 2.0 / (ref_present + 1), oor_rate)
        )
    if f.unseen is not None and cur_present:
        unseen_rate = f.unseen / cur_present
        checks.append(("unseen", f.unseen, cur_present, 1.0 / (ref_present + 1), unseen_rate))
    band: Band = "OK"
    issues: list[str] = []
    for name, k, n, p0, rate in checks:
        excess = rate - p0
        p = _binom_sf(k, n, p0)
        if excess >= policy.quality_drift and p < policy.quality_p_drift:
            found: Band = "DRIFT"
        elif excess >= policy.quality_warn and p < policy.quality_p_warn:
            found = "WARN"
        else:
            continue
        band = _worst([band, found])
        issues.append(f"{name} rate {rate:.4g} vs {min(p0, 1.0):.4g} expected ({found})")
    return QualityResult(missing_rate, ref_missing_rate, oor_rate, unseen_rate, band, tuple(issues))


def evaluate_feature(
    feature: FeatureInput, policy: DriftPolicy = DEFAULT_POLICY, *, m: int = 1
) -> FeatureResult:
    """Judge one feature alone (prediction drift, or a one-feature check): ``m`` is the
    number of features its alpha levels are shared with. A test's p-value is not
    adjusted here; ``evaluate`` adjusts across features."""
    _check_overrides([feature], policy)
    result, _ = _evaluate_one(feature, policy, m)
    if result.method in TESTS and result.p_value is not None:
        result = _test_band(result, result.p_value, policy)
    return result


def _evaluate_one(
    feature: FeatureInput, policy: DriftPolicy, m: int
) -> tuple[FeatureResult, _Measured | None]:
    quality = _quality(feature, policy)
    base = FeatureResult(
        name=feature.name,
        kind=feature.kind,
        method=None,
        band="NO_DATA",
        reference_count=_present(feature.reference_counts),
        current_count=_present(feature.current_counts),
        quality=quality,
        notes=feature.notes,
    )
    if base.reference_count == 0 or base.current_count == 0:
        side = "reference" if base.reference_count == 0 else "window"
        return replace(base, notes=(*base.notes, f"no present value in the {side}")), None
    f, cell_notes = _cells(feature)
    method = _method_for(f, policy, converted=bool(cell_notes))
    try:
        measured = _measure(f, method, m, policy)
    except NotEnoughData as exc:
        return replace(base, method=method, notes=(*base.notes, str(exc))), None
    result = replace(
        base,
        method=measured.method,
        statistic=measured.statistic,
        effect=measured.effect,
        p_value=measured.p_value,
        warn_threshold=measured.warn,
        drift_threshold=measured.drift,
        notes=(*base.notes, *cell_notes, *measured.notes),
    )
    if measured.method in DISTANCES:
        assert measured.warn is not None and measured.drift is not None
        band: Band = (
            "DRIFT"
            if measured.effect > measured.drift
            else "WARN"
            if measured.effect > measured.warn
            else "OK"
        )
        result = replace(result, band=band)
    return result, measured


def _test_band(result: FeatureResult, adjusted: float, policy: DriftPolicy) -> FeatureResult:
    effect = result.effect or 0.0
    warn = result.warn_threshold or 0.0
    drift = result.drift_threshold or 0.0
    if adjusted <= policy.alpha_drift and effect >= drift:
        band: Band = "DRIFT"
    elif adjusted <= policy.alpha_warn and effect >= warn:
        band = "WARN"
    else:
        band = "OK"
    return replace(result, p_adjusted=adjusted, band=band)


def evaluate(
    features: Sequence[FeatureInput],
    policy: DriftPolicy = DEFAULT_POLICY,
    *,
    rows: int,
    reference_rows: int,
    prediction: FeatureInput | None = None,
    notes: Sequence[str] = (),
) -> DriftResult:
    """Judge a window: every feature, BH across the tested ones, the dataset verdict.

    ``rows`` is the window's row count and ``reference_rows`` the reference's. A
    ``PolicyError`` (an override that does not fit its feature) is raised before any
    work; ``NotEnoughData`` never escapes (the feature reads NO_DATA with a note).
    """
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        raise PolicyError("feature names must be unique")
    _check_overrides(features, policy)
    if prediction is not None:
        _check_overrides([prediction], policy)
    unknown = sorted(set(policy.methods) - set(names))
    evaluated = [f for f in features if f.current_counts.sum() > 0 and f.reference_counts.sum()]
    m = max(1, len(evaluated))
    results = [_evaluate_one(f, policy, m)[0] for f in features]
    tested = [i for i, r in enumerate(results) if r.method in TESTS and r.p_value is not None]
    if tested:
        adjusted = benjamini_hochberg([cast(float, results[i].p_value) for i in tested])
        for i, adj in zip(tested, adjusted, strict=True):
            results[i] = _test_band(results[i], float(adj), policy)
    pred = None if prediction is None else evaluate_feature(prediction, policy, m=1)
    judged = [r for r in results if r.band != "NO_DATA"]
    drifted = tuple(r.name for r in results if r.band == "DRIFT")
    warned = tuple(r.name for r in results if r.band == "WARN")
    share = len(drifted) / len(judged) if judged else 0.0
    verdict = _dataset_verdict(results, pred, share, policy)
    all_notes = list(notes)
    if unknown:
        all_notes.append(f"method overrides name no feature: {', '.join(unknown)}")
    return DriftResult(
        verdict=verdict,
        features=tuple(results),
        rows=rows,
        reference_rows=reference_rows,
        drifted=drifted,
        warned=warned,
        drift_share=share,
        prediction=pred,
        settings=policy.settings(),
        notes=tuple(all_notes),
    )


def _dataset_verdict(
    results: Sequence[FeatureResult],
    prediction: FeatureResult | None,
    share: float,
    policy: DriftPolicy,
) -> Band:
    judged = [r for r in results if r.band != "NO_DATA"]
    if prediction is not None and prediction.band != "NO_DATA":
        judged.append(prediction)
    quality = [r.quality.band for r in results]
    if not judged and all(q == "OK" for q in quality):
        return "NO_DATA"
    if any(r.band == "DRIFT" for r in judged) or (judged and share >= policy.drift_share):
        return "DRIFT"
    if any(r.band == "WARN" for r in judged) or any(q != "OK" for q in quality):
        return "WARN"
    return "OK"


# --- hysteresis -----------------------------------------------------------------------


@dataclass(frozen=True)
class AlertState:
    """Whether an alert is up for one key (a feature, or the dataset), and the streaks.

    ``step`` counts consecutive DRIFT and OK windows; WARN breaks both streaks (it
    neither confirms drift nor clears it) and NO_DATA changes nothing (a gap in the
    traffic is not evidence either way).
    """

    alerting: bool = False
    drift_streak: int = 0
    ok_streak: int = 0
    raise_after: int = 3
    clear_after: int = 3

    def __post_init__(self) -> None:
        if self.raise_after < 1 or self.clear_after < 1:
            raise PolicyError("raise_after and clear_after must be at least 1")

    def step(self, band: Band) -> tuple[AlertState, AlertEvent | None]:
        """The state after one more window, and ``"raise"`` / ``"clear"`` when the
        alert starts or ends with it."""
        if band == "NO_DATA":
            return self, None
        drift = self.drift_streak + 1 if band == "DRIFT" else 0
        ok = self.ok_streak + 1 if band == "OK" else 0
        if not self.alerting and drift >= self.raise_after:
            return replace(self, alerting=True, drift_streak=drift, ok_streak=0), "raise"
        if self.alerting and ok >= self.clear_after:
            return replace(self, alerting=False, drift_streak=0, ok_streak=ok), "clear"
        return replace(self, drift_streak=drift, ok_streak=ok), None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alerting": self.alerting,
            "drift_streak": self.drift_streak,
            "ok_streak": self.ok_streak,
            "raise_after": self.raise_after,
            "clear_after": self.clear_after,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> AlertState:
        return cls(
            alerting=bool(doc.get("alerting", False)),
            drift_streak=int(doc.get("drift_streak", 0)),
            ok_streak=int(doc.get("ok_streak", 0)),
            raise_after=int(doc.get("raise_after", 3)),
            clear_after=int(doc.get("clear_after", 3)),
        )
