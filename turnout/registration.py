"""Registering a model version: read, convert, validate, profile, then write once.

Everything that can fail on the user's input (files, conversion, onnxruntime loading,
shapes and dtypes, reference columns) is checked before MLflow is written to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import names
from registry.errors import DataFileError, InvalidInput, InvalidName
from registry.types import NewVersion, VersionInfo
from turnout.services import Services

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class RegistrationResult:
    version: VersionInfo
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    reference_rows: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.version.to_dict(),
            "inputs": self.inputs,
            "outputs": self.outputs,
            "reference_rows": self.reference_rows,
        }


def parse_tags(pairs: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"tag '{pair}' is not KEY=VALUE")
        if key.startswith(names.TAG_PREFIX):
            raise InvalidInput(
                f"tag key '{key}' is reserved: keys starting with "
                f"'{names.TAG_PREFIX}' are written by turnout"
            )
        tags[key] = value
    return tags


def register_model(
    services: Services,
    name: str,
    path: Path,
    *,
    reference: Path | None = None,
    input_example: Path | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    trust_pickle: bool = False,
    progress: Callable[[str], None] = lambda _msg: None,
) -> RegistrationResult:
    from monitors import compute_profile, profile_to_json
    from registry.convert import load_model_file
    from registry.data import read_table
    from router.inference import InputMismatchError, feeds_from_frame, validate_model

    if not names.is_valid_model_name(name):
        raise InvalidName(
            f"'{name}' is not a valid model name (letters, digits, '.', '_', '-'; "
            "starting with a letter or digit)"
        )
    example_df = read_table(input_example, what="input example") if input_example else None
    reference_df = read_table(reference, what="reference") if reference else None
    example_from = "input example"
    if example_df is None and reference_df is not None:
        example_df, example_from = reference_df.head(EXAMPLE_ROWS), "reference data"
    elif example_df is not None:
        example_df = example_df.head(EXAMPLE_ROWS)

    progress(f"reading {path.name}")
    loaded = load_model_file(path, trust_pickle=trust_pickle, example=example_df)
    progress("checking the model in onnxruntime")
    try:
        checked = validate_model(loaded.onnx_bytes, example_df)
    except InputMismatchError as exc:
        if example_df is None:
            raise
        raise DataFileError(f"{example_from} does not fit the model: {exc}") from None

    profile_json: str | None = None
    if reference_df is not None:
        try:
            feeds_from_frame(checked.signature, reference_df.head(100))
        except InputMismatchError as exc:
            raise DataFileError(f"reference data does not fit the model: {exc}") from None
        progress(f"profiling {len(reference_df)} reference rows")
        profile_json = profile_to_json(compute_profile(reference_df))

    # Ensure the control DB is usable before MLflow gets a version we cannot audit.
    ledger = services.ledger
    progress("logging to MLflow")
    version = services.registry.create_version(
        NewVersion(
            name=name,
            onnx_bytes=loaded.onnx_bytes,
            input_example=dict(checked.feeds),
            outputs=dict(checked.outputs),
            source_format=loaded.source_format,
            description=description,
            tags=dict(tags or {}),
            reference_profile_json=profile_json,
        )
    )
    ledger.record(
        names.EVENT_REGISTER,
        name,
        actor=services.actor(),
        version=version.version,
        payload={
            "source": str(path),
            "format": loaded.source_format,
            "reference_rows": None if reference_df is None else len(reference_df),
        },
    )
    return RegistrationResult(
        version=version,
        inputs=[_spec(s) for s in checked.signature.inputs],
        outputs=[_spec(s) for s in checked.signature.outputs],
        reference_rows=None if reference_df is None else len(reference_df),
    )


def _spec(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "datatype": spec.datatype, "shape": list(spec.shape)}
