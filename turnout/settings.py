"""Process-wide settings: one state directory and the stores that live under it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where turnout keeps its state. Every field has a `TURNOUT_` environment variable."""

    model_config = SettingsConfigDict(env_prefix="TURNOUT_", extra="ignore")

    state_dir: Path = Field(
        default=Path(".turnout"),
        description="Folder for the embedded stores (TURNOUT_STATE_DIR).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the control DB (TURNOUT_DATABASE_URL); "
        "default sqlite:///<state>/turnout.db.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI (TURNOUT_MLFLOW_TRACKING_URI); "
        "default sqlite:///<state>/mlflow.db.",
    )
    mlflow_registry_uri: str | None = Field(
        default=None,
        description="MLflow registry URI (TURNOUT_MLFLOW_REGISTRY_URI); default: the tracking URI.",
    )
    artifact_root: Path | None = Field(
        default=None,
        description="Artifact folder for new MLflow experiments (TURNOUT_ARTIFACT_ROOT); "
        "default <state>/artifacts.",
    )
    experiment: str = Field(
        default="turnout",
        description="MLflow experiment that registrations log their runs to (TURNOUT_EXPERIMENT).",
    )
    auto_upgrade: bool = Field(
        default=True,
        description="Upgrade the control DB schema on use (TURNOUT_AUTO_UPGRADE).",
    )
    actor: str | None = Field(
        default=None,
        description="Name recorded as the actor of audit events (TURNOUT_ACTOR); "
        "default user@host.",
    )

    default_model: str | None = Field(
        default=None,
        description="Model answered on POST /invocations when several are served "
        "(TURNOUT_DEFAULT_MODEL).",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the gateway reads (TURNOUT_MAX_BODY_BYTES); "
        "larger ones get 413.",
    )
    policy_poll_s: float = Field(
        default=0.5,
        gt=0,
        description="How often a gateway polls the control DB for policy changes "
        "(TURNOUT_POLICY_POLL_S).",
    )
    flush_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="How often telemetry is flushed to the control DB (TURNOUT_FLUSH_INTERVAL_S).",
    )
    model_deadline_s: float = Field(
        default=10.0,
        gt=0,
        description="A model answer slower than this is a 504 and counts as a timeout "
        "(TURNOUT_MODEL_DEADLINE_S).",
    )
    log_predictions: bool = Field(
        default=True,
        description="Log predictions for feedback joins (TURNOUT_LOG_PREDICTIONS).",
    )

    inference_auth: bool = Field(
        default=False,
        description="Inference routes need a token of any role (TURNOUT_INFERENCE_AUTH); "
        "tokens are re-read every 5 s.",
    )
    role: str = Field(
        default="all",
        pattern="^(all|gateway)$",
        description="What `turnout serve` runs: all (gateway, rollout controller, drift monitor "
        "and alert delivery) or gateway "
        "(TURNOUT_ROLE).",
    )
    controller_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between rollout controller ticks (TURNOUT_CONTROLLER_INTERVAL_S).",
    )
    prometheus_url: str | None = Field(
        default=None,
        description="Prometheus base URL for `provider: prometheus` metrics "
        "(TURNOUT_PROMETHEUS_URL).",
    )

    sample_rows: int = Field(
        default=20,
        ge=0,
        le=10_000,
        description="Raw input rows each gateway keeps per version and second for drift "
        "reports, 0 for none (TURNOUT_SAMPLE_ROWS).",
    )
    drift_window: str = Field(
        default="300s",
        pattern=r"^[1-9][0-9]*(s|m|h|rows)$",
        description="Drift windows: a duration (300s, 5m, 1h) or a row count (10000rows) "
        "(TURNOUT_DRIFT_WINDOW).",
    )
    drift_hysteresis: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Consecutive drifting windows before a drift alert (TURNOUT_DRIFT_HYSTERESIS).",
    )
    monitor_interval_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between drift monitor ticks (TURNOUT_MONITOR_INTERVAL_S).",
    )

    public_url: str | None = Field(
        default=None,
        description="Base URL where people reach this turnout (TURNOUT_PUBLIC_URL), used for "
        "links in alerts, e.g. https://turnout.example.com.",
    )
    alerts_config: Path | None = Field(
        default=None,
        description="Alerts config file, TOML (TURNOUT_ALERTS_CONFIG); default "
        "<state>/alerts.toml; without a file alerts go to the log only.",
    )
    alerts_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="How often the alert delivery worker looks for due deliveries "
        "(TURNOUT_ALERTS_POLL_S).",
    )
    alerts_retry_base_s: float = Field(
        default=5.0,
        gt=0,
        description="First retry delay of a failed alert delivery; it doubles per attempt "
        "(TURNOUT_ALERTS_RETRY_BASE_S).",
    )
    alerts_retry_max_s: float = Field(
        default=600.0,
        gt=0,
        description="Longest delay between two delivery attempts (TURNOUT_ALERTS_RETRY_MAX_S).",
    )
    alerts_max_attempts: int = Field(
        default=12,
        ge=1,
        description="Attempts before a delivery is marked failed (TURNOUT_ALERTS_MAX_ATTEMPTS).",
    )
    alerts_max_age_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="Age of an alert after which its deliveries stop retrying "
        "(TURNOUT_ALERTS_MAX_AGE_S).",
    )
    alerts_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Alerts with nothing left to send are deleted after this many days "
        "(TURNOUT_ALERTS_RETENTION_DAYS).",
    )

    def resolved_state_dir(self) -> Path:
        return self.state_dir.expanduser().resolve()

    def control_db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_state_dir() / 'turnout.db'}"

    def tracking_uri(self) -> str:
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        return f"sqlite:///{self.resolved_state_dir() / 'mlflow.db'}"

    def registry_uri(self) -> str:
        return self.mlflow_registry_uri or self.tracking_uri()

    def artifact_location(self) -> Path:
        root = self.artifact_root or self.resolved_state_dir() / "artifacts"
        return root.expanduser().resolve()

    def alerts_config_path(self) -> Path:
        if self.alerts_config is not None:
            return self.alerts_config.expanduser().resolve()
        return self.resolved_state_dir() / "alerts.toml"

    def cache_dir(self) -> Path:
        return self.resolved_state_dir() / "cache"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
