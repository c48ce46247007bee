"""The service's request and response bodies, as pydantic models (they also make the OpenAPI schema).

A request holds rows as lists of values in column order, or as records keyed by column name; ``null`` marks a
missing cell (accepted only where the explainer or its transformations handle missing values). Numbers are
strict: booleans, NaN and infinities are refused; strings are accepted by the schema for the raw categorical
columns of an explainer with transformations, and refused (422) anywhere a number is expected.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AllowInfNan, BaseModel, ConfigDict, Discriminator, Field, Strict, StringConstraints, Tag

__all__ = ["ScoreRequest", "ScoreResponse", "TopK", "ErrorBody", "ErrorResponse", "Metadata", "Health"]

#: One cell: a finite number, a string (raw categorical columns only), or null for a missing value.
Cell = Annotated[float, Strict(), AllowInfNan(False)] | Annotated[str, Strict(), StringConstraints(max_length=1000)] | None


def _row_kind(row: Any) -> str:
    return "record" if isinstance(row, dict) else "values"


#: One row: values in feature order, or a record {feature name: value}.
Row = Annotated[
    Annotated[list[Cell], Tag("values")] | Annotated[dict[str, Cell], Tag("record")],
    Discriminator(_row_kind),
]


class ScoreRequest(BaseModel):
    """Rows to score and explain."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"data": [[0.1, 2.0, 3.5]], "top_k": 2}]},
    )

    data: list[Row] = Field(
        min_length=1,
        description="Rows: lists of numbers in feature order, or records {feature: number}; null marks a missing "
        "value where the explainer accepts it.",
    )
    top_k: Annotated[int, Strict()] | None = Field(
        default=None, ge=1, description="Also return the top_k features of each row, ranked by local value."
    )
    get_raw: Annotated[bool, Strict()] | None = Field(
        default=None,
        description="Explain the raw columns (true) or the engineered features (false) of an explainer with "
        "transformations; default the explainer's own choice (see /metadata).",
    )


class TopK(BaseModel):
    """The highest local values of each row, in the SDK layout of ``local_importance_values``."""

    names: list = Field(description="[classes][rows][k] for a classifier, [rows][k] for a regressor")
    values: list = Field(description="the matching local values")


class ScoreResponse(BaseModel):
    """Predictions and local importance values of the rows."""

    predictions: list = Field(description="class labels (classifier) or values (regressor), one per row")
    local_importance_values: list = Field(
        description="[classes][rows][features] for a classifier, [rows][features] for a regressor"
    )
    expected_values: list[float] = Field(description="expected model output, one per class (or one)")
    features: list[str | int] = Field(description="names of the explained features, in the order of the values")
    output_space: str = Field(description="the space the values explain: probability, log_odds, margin, raw ...")
    top_k: TopK | None = None


class ErrorBody(BaseModel):
    """What went wrong."""

    type: str = Field(description="machine-readable kind, e.g. invalid_request, wrong_shape, body_too_large")
    message: str = Field(description="what was expected and what was found")


class ErrorResponse(BaseModel):
    """Every error answer has this shape."""

    error: ErrorBody


class Health(BaseModel):
    """Liveness answer."""

    status: str


class Metadata(BaseModel):
    """What the service explains."""

    kind: str
    method: str
    task: str
    features: list[str | int]
    input_features: list[str | int]
    raw_features: list[str | int] | None
    default_raw: bool
    classes: list | None
    output_space: str
    expected_values: list[float]
    allows_missing: bool
    prediction_source: str
    max_rows: int
    max_body_bytes: int
    versions: dict[str, str]
