"""The mapping engine: load, validate, merge and apply JSON mapping tables.

A table is data (see ``schema.json``): each entry names vendor key(s), an NXem
destination, optional source/target units and an optional named transform.
Entries are tried in order and the first one that yields a value for a
destination wins, so a table lists preferred sources first and fallbacks after,
and a facility's own table (``-c``) placed before the shipped one overrides it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MappingTableError
from ..keys import MISSING, lookup_in
from ..units import convert_values, parse_unit, round_converted
from .transforms import TRANSFORMS, TransformContext, TransformError, args_problem, number_policy, to_float

SCOPES = ("entry", "instrument", "event")
_REFERENCE = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Condition:
    """A rule's ``when``: another vendor key has (``negate`` False) or has not one of ``values``."""

    key: str
    values: tuple[str, ...]
    negate: bool = False

    def holds(self, tree: Any, derived: Any) -> bool:
        """Text compared without case and blanks; an absent key satisfies ``not_in`` only."""
        value = lookup_in(tree, derived, self.key)
        present = value is not MISSING and value is not None
        matches = present and _condition_text(value) in self.values
        return not matches if self.negate else matches


def _condition_text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().casefold()


@dataclass(frozen=True)
class Rule:
    """One validated mapping entry."""

    src: tuple[str, ...]
    dst: str
    scope: str = "event"
    src_unit: str | None = None
    dst_unit: str | None = None
    transform: str | None = None
    args: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    skip_values: tuple[Any, ...] = ()
    constant: Any = MISSING
    when: Condition | None = None
    origin: str = ""  # "table name, entry N" for messages


@dataclass
class MappingTable:
    name: str
    version: str
    format: str
    rules: list[Rule]
    origin: str
    personal_keys: tuple[str, ...] = ()  # vendor keys naming people (operators); dropped when anonymising


@dataclass
class MappedValue:
    """A value for one NXem destination, with units and the vendor key it came from."""

    scope: str
    path: str
    value: Any
    units: str | None
    vendor_key: str


@dataclass
class MappingResult:
    values: list[MappedValue]
    warnings: list[str]


@cache
def _schema_validator():
    import jsonschema

    schema = json.loads(resources.files(__package__).joinpath("schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def load_table(source: str | Path) -> MappingTable:
    """A table from a file path, or a shipped table by format name."""
    path = Path(source)
    if path.suffix.lower() != ".json" and not path.exists():
        return shipped_table(str(source))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingTableError(path.name, f"cannot be read ({exc})") from exc
    return parse_table(text, path.name)


@cache
def shipped_table(format_name: str) -> MappingTable:
    """The table shipped with the package for a format."""
    resource = resources.files(__package__).joinpath("tables", f"{format_name}.json")
    if not resource.is_file():
        raise MappingTableError(format_name, "no such shipped table")
    # checked against the schema by the tests (tests/test_mapping_engine.py), not in every conversion:
    # importing jsonschema and validating cost 0.2 s of a small file's 1.8 s
    return parse_table(resource.read_text("utf-8"), f"{format_name}.json", check_schema=False)


def parse_table(text: str, origin: str, check_schema: bool = True) -> MappingTable:
    """Parse and validate a table; errors name the table and the entry."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingTableError(origin, f"is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    errors = sorted(_schema_validator().iter_errors(raw), key=lambda e: list(e.absolute_path)) if check_schema else []
    if errors:
        raise MappingTableError(origin, _describe_schema_error(raw, errors[0]))
    rules = [_rule_from_entry(entry, f"{origin}, entry {i}") for i, entry in enumerate(raw["mappings"])]
    personal = tuple(raw.get("personal_keys", ()))
    return MappingTable(raw["name"], raw["version"], raw["format"], rules, origin, personal)


def _describe_schema_error(raw: Any, error) -> str:
    location = list(error.absolute_path)
    if len(location) >= 2 and location[0] == "mappings":
        index = location[1]
        entry = raw["mappings"][index]
        dst = entry.get("dst", "?") if isinstance(entry, dict) else "?"
        field_name = "/".join(str(p) for p in location[2:]) or "entry"
        return f"entry {index} (dst '{dst}'), {field_name}: {error.message}"
    where = "/".join(str(p) for p in location) or "top level"
    return f"{where}: {error.message}"


def _rule_from_entry(entry: dict[str, Any], origin: str) -> Rule:
    """Checks JSON Schema cannot express: known transforms and parseable units."""
    transform = entry.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingTableError(origin, f"unknown transform '{transform}' (known: {', '.join(sorted(TRANSFORMS))})")
    problem = args_problem(transform, entry.get("args", {})) if transform is not None else None
    if problem:
        raise MappingTableError(origin, problem)
    for key in ("src_unit", "dst_unit"):
        if key in entry and parse_unit(entry[key]) is None:
            raise MappingTableError(origin, f"{key} '{entry[key]}' is not a unit pint knows")
    src_unit, dst_unit = entry.get("src_unit"), entry.get("dst_unit")
    if src_unit and dst_unit and parse_unit(src_unit).dimensionality != parse_unit(dst_unit).dimensionality:
        raise MappingTableError(origin, f"cannot convert '{src_unit}' into '{dst_unit}'")
    sources = entry["src"]
    return Rule(
        src=(sources,) if isinstance(sources, str) else tuple(sources),
        dst=entry["dst"],
        scope=entry.get("scope", "event"),
        src_unit=src_unit,
        dst_unit=dst_unit or src_unit,
        transform=transform,
        args=dict(entry.get("args", {})),
        skip_values=tuple(entry.get("skip_values", ())),
        constant=entry.get("value", MISSING),
        when=_condition(entry.get("when")),
        origin=origin,
    )


def _condition(when: dict[str, Any] | None) -> Condition | None:
    """A rule's ``when`` (schema: ``key`` and exactly one of ``in`` / ``not_in``)."""
    if when is None:
        return None
    negate = "not_in" in when
    values = tuple(_condition_text(v) for v in when["not_in" if negate else "in"])
    return Condition(when["key"], values, negate)


def rules_for(format_name: str, user_tables: list[MappingTable]) -> list[Rule]:
    """User rules that apply to the format first (they win), then the shipped ones."""
    return [rule for table in tables_for(format_name, user_tables) for rule in table.rules]


def tables_for(format_name: str, user_tables: list[MappingTable]) -> list[MappingTable]:
    """The tables whose rules apply to a format: the user's (matching or '*') first, then the shipped one."""
    return [*(t for t in user_tables if t.format in (format_name, "*")), shipped_table(format_name)]


def personal_keys_for(format_name: str, user_tables: list[MappingTable]) -> set[str]:
    """Vendor keys that name people, as the applicable tables declare them."""
    return {key for table in tables_for(format_name, user_tables) for key in table.personal_keys}


def without_personal(rules: list[Rule], personal_keys: set[str]) -> list[Rule]:
    """The rules that read no personal vendor key or anything below one (an anonymised conversion maps no name)."""
    return [rule for rule in rules if not any(_is_under(src, key) for src in rule.src for key in personal_keys)]


def _is_under(src: str, key: str) -> bool:
    return src == key or src.startswith(f"{key}/")


def resolve_key(tree: Any, key: str, derived: Any = None) -> str | None:
    """Replace ``{other/key}`` references by the values they point at."""

    def substitute(match: re.Match) -> str:
        value = lookup_in(tree, derived, match.group(1))
        if value is MISSING:
            raise KeyError(match.group(1))
        return str(value).strip()

    try:
        return _REFERENCE.sub(substitute, key)
    except KeyError:
        return None


def _is_unrecorded(value: Any, rule: Rule) -> bool:
    """Empty strings, empty lists and declared 'not recorded' values count as absent."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, str) and not value.strip():
        return True
    if isinstance(value, (list, tuple)) and len(value) == 0:
        return True
    if rule.skip_values and np.ndim(value) == 0:
        try:
            policy = number_policy(rule.args)  # the number read as the rule reads it
            return any(value == skip or to_float(value, **policy) == skip for skip in rule.skip_values)
        except (TransformError, TypeError, ValueError):
            return False
    return False


def apply_rules(
    rules: list[Rule], tree: dict[str, Any], ctx: TransformContext, derived: dict[str, Any] | None = None
) -> MappingResult:
    """Evaluate rules on one signal's vendor tree (and its derived tree, keys ``@derived/...``);
    the first value per destination wins."""
    values: list[MappedValue] = []
    warnings: list[str] = []
    filled: set[tuple[str, str]] = set()
    for rule in rules:
        target = (rule.scope, rule.dst)
        if target in filled or (rule.when is not None and not rule.when.holds(tree, derived)):
            continue
        keys = [resolve_key(tree, key, derived) for key in rule.src]
        if any(key is None for key in keys):
            continue
        raw = [lookup_in(tree, derived, key) for key in keys]
        if any(_is_unrecorded(value, rule) for value in raw):
            continue
        vendor_key = " + ".join(keys)
        try:
            value, units = _evaluate(rule, raw, ctx)
        except (TransformError, ValueError, TypeError) as exc:
            warnings.append(f"vendor key '{vendor_key}': {exc}; not mapped to {rule.dst}")
            continue
        values.append(MappedValue(rule.scope, rule.dst, value, units, vendor_key))
        filled.add(target)
    return MappingResult(values, warnings)


def _evaluate(rule: Rule, raw: list[Any], ctx: TransformContext) -> tuple[Any, str | None]:
    """Transform, then convert units: the stored value and its unit."""
    if rule.constant is not MISSING:
        value = rule.constant
    elif rule.transform is not None:
        value = TRANSFORMS[rule.transform](raw, rule.args, ctx)
    elif len(raw) == 1:
        value = raw[0]
    else:
        raise TransformError("several source keys need a transform")
    if rule.src_unit is None:
        return _plain(value), None
    number = value if isinstance(value, np.ndarray) else to_float(value)
    # rounded in the rule's own unit too: a vendor's unit arithmetic leaves the same noise
    # (DigitalMicrograph records a 320 mm camera length as 320.00000000000006)
    return round_converted(convert_values(number, rule.src_unit, rule.dst_unit)), rule.dst_unit


def _plain(value: Any) -> Any:
    """Vendor values as HDF5-friendly Python/numpy values."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return value.strip()
    return value
