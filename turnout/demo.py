"""The demo: train two small classifiers on scikit-learn's bundled data, register, promote.

Nothing is downloaded: the breast-cancer data set ships inside scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from registry.audit import AliasChange
from turnout.registration import RegistrationResult, register_model
from turnout.services import Services

DEMO_MODEL = "breast-cancer"


@dataclass
class DemoResult:
    model: str
    registered: list[RegistrationResult] = field(default_factory=list)
    promotions: list[AliasChange] = field(default_factory=list)
    accuracy: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "registered": [r.to_dict() for r in self.registered],
            "promotions": [p.to_dict() for p in self.promotions],
            "accuracy": self.accuracy,
        }


def run_demo(
    services: Services,
    *,
    model: str = DEMO_MODEL,
    say: Callable[[str], None] = lambda _msg: None,
) -> DemoResult:
    import pandas as pd
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    workdir = services.settings.resolved_state_dir() / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer(as_frame=True)
    features: pd.DataFrame = data.data
    x_train, x_test, y_train, y_test = train_test_split(
        features, data.target, test_size=0.25, random_state=7, stratify=data.target
    )
    reference = workdir / "train.parquet"
    x_train.to_parquet(reference, index=False)
    say(f"training data: {len(x_train)} rows x {x_train.shape[1]} features -> {reference}")

    candidates = {
        "baseline: logistic regression, strong regularisation (C=0.01)": 0.01,
        "candidate: logistic regression, C=1.0": 1.0,
    }
    result = DemoResult(model=model)
    for description, c in candidates.items():
        est = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
        est.fit(x_train.to_numpy(), y_train.to_numpy())
        acc = float(est.score(x_test.to_numpy(), y_test.to_numpy()))
        path = workdir / f"model-c{c:g}.skops"
        sio.dump(est, path)
        reg = register_model(
            services,
            model,
            path,
            reference=reference,
            description=description,
            tags={"demo": "true", "holdout_accuracy": f"{acc:.4f}"},
        )
        result.registered.append(reg)
        result.accuracy[reg.version.version] = acc
        say(
            f"registered {model} v{reg.version.version} ({description}); holdout accuracy {acc:.3f}"
        )

    first, second = (r.version.version for r in result.registered)
    actor = services.actor()
    for version, reason in (
        (first, "demo: initial champion"),
        (
            second,
            f"demo: higher holdout accuracy ({result.accuracy[second]:.3f} vs "
            f"{result.accuracy[first]:.3f})",
        ),
    ):
        change = services.ledger.promote(model, version, actor=actor, reason=reason)
        result.promotions.append(change)
        was = f", v{change.from_version} -> previous" if change.from_version else ""
        say(f"promoted {model} v{version} to champion{was}")
    return result
