"""The price event as Spark sees it: a JSON schema and column-wise validation rules.

Both are derived from the shared pydantic model (``PriceEvent``) and
``PRICE_EVENT_SPARK_RULES``, so a field added or a pattern tightened in
``coinstream_contract.events`` changes what the job accepts without an edit
here. Spark cannot call pydantic per row at 20k events/s, hence the
translation into column expressions.

Deliberate differences from ``PriceEvent.from_json``: unknown extra fields are
ignored (forward compatible within one schema version), and values must have
their JSON type (pydantic's lax mode would also accept ``"ts": "123"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from coinstream_contract.events import PRICE_EVENT_SPARK_RULES, PriceEvent
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

CORRUPT_COLUMN = "_corrupt_record"
"""Set by from_json when a record is not JSON or a field has the wrong type."""

_JSON_TYPES = {"string": T.StringType(), "integer": T.LongType(), "number": T.DoubleType()}


@dataclass(frozen=True)
class FieldRule:
    """What the model says about one field, in terms Spark can check."""

    name: str
    json_type: str
    required: bool
    pattern: str | None = None
    const: Any = None
    minimum: float | None = None
    exclusive_maximum: float | None = None


def _field_rule(name: str, prop: dict, required: bool, patterns: dict[str, str]) -> FieldRule:
    variants = prop.get("anyOf", [prop])
    typed = [v for v in variants if v.get("type") != "null"]
    if len(typed) != 1 or typed[0].get("type") not in _JSON_TYPES:
        raise ValueError(f"PriceEvent.{name}: no Spark type for {prop}")
    spec = typed[0]
    return FieldRule(
        name=name,
        json_type=spec["type"],
        required=required,
        pattern=patterns.get(name, spec.get("pattern")),
        const=spec.get("const"),
        minimum=spec.get("minimum"),
        exclusive_maximum=spec.get("exclusiveMaximum"),
    )


@lru_cache(maxsize=1)
def field_rules() -> tuple[FieldRule, ...]:
    """One rule per wire field of PriceEvent, in wire order."""
    model = PriceEvent.model_json_schema(by_alias=True)
    rules = PRICE_EVENT_SPARK_RULES
    required = set(rules["required"]) | set(model.get("required", ()))
    patterns = {
        name[: -len("_pattern")]: value
        for name, value in rules.items()
        if name.endswith("_pattern") and isinstance(value, str)
    }
    out = [_field_rule(name, prop, name in required, patterns) for name, prop in model["properties"].items()]
    by_name = {r.name: r for r in out}
    if by_name["schema"].const != rules["schema"]:
        raise ValueError("PRICE_EVENT_SPARK_RULES and PriceEvent disagree on the schema tag")
    return tuple(out)


def event_schema() -> T.StructType:
    """The from_json schema: every wire field plus the corrupt-record column."""
    fields = [T.StructField(r.name, _JSON_TYPES[r.json_type], True) for r in field_rules()]
    return T.StructType(fields + [T.StructField(CORRUPT_COLUMN, T.StringType(), True)])


def java_regex(pattern: str) -> str:
    """A pydantic (Rust regex) pattern as a Java regex with the same anchoring.

    In Java, ``$`` also matches before a final newline; Rust's does not.
    """
    return re.sub(r"(?<!\\)\$$", r"\\z", pattern)


def _reason(condition: Column, message: Column | str) -> Column:
    return F.when(condition, message if isinstance(message, Column) else F.lit(message))


def _field_reasons(e: str) -> list[Column]:
    """Column expressions that are non-null when a rule fails (in check order)."""
    col = lambda name: F.col(f"{e}.`{name}`")
    reasons: list[Column] = []
    rules = field_rules()
    for r in rules:
        if r.const is not None:
            reasons.append(
                _reason(
                    col(r.name).isNull() | (col(r.name) != F.lit(r.const)),
                    F.concat(
                        F.lit(f"{r.name} "),
                        F.coalesce(F.concat(F.lit("'"), col(r.name), F.lit("'")), F.lit("missing")),
                        F.lit(f" is not '{r.const}'"),
                    ),
                )
            )
    for r in rules:
        if r.required and r.const is None:
            reasons.append(_reason(col(r.name).isNull(), f"{r.name}: missing"))
    for r in rules:
        c = col(r.name)
        if r.pattern:
            reasons.append(_reason(~c.rlike(java_regex(r.pattern)), f"{r.name}: does not match {r.pattern}"))
        if r.json_type == "number":
            reasons.append(_reason(F.isnan(c) | c.isin(float("inf"), float("-inf")), f"{r.name}: not a finite number"))
        if r.minimum is not None:
            reasons.append(_reason(c < F.lit(r.minimum), f"{r.name}: below {r.minimum:g}"))
        if r.exclusive_maximum is not None:
            reasons.append(_reason(c >= F.lit(r.exclusive_maximum), f"{r.name}: not below {r.exclusive_maximum:g}"))
    return reasons


def event_id_expr(e: str = "e") -> Column:
    """``price_event_id`` (sha256 of the keys, 32 hex chars) as a column."""
    key = F.concat_ws(
        "|",
        F.col(f"{e}.coin_id"),
        F.col(f"{e}.vs_currency"),
        F.col(f"{e}.ts").cast("string"),
        F.col(f"{e}.source"),
    )
    return F.substring(F.sha2(key, 256), 1, 32)


def rejection_reason(value: str = "value", e: str = "e") -> Column:
    """Why a record is not a valid PriceEvent, or null when it is valid.

    ``value`` is the raw Kafka value column, ``e`` the from_json struct.
    """
    reasons = [
        _reason(F.col(value).isNull(), "empty value (tombstone)"),
        _reason(
            F.col(f"{e}.{CORRUPT_COLUMN}").isNotNull(),
            "malformed: not a JSON object, or a field has the wrong JSON type",
        ),
        *_field_reasons(e),
        _reason(
            F.col(f"{e}.event_id") != event_id_expr(e),
            "event_id: does not match (coin_id, vs_currency, ts, source)",
        ),
    ]
    return F.coalesce(*reasons)
