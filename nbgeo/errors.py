"""Errors and warnings raised by nbgeo.

Every error derives from :class:`NbgeoError` and carries a stable ``code``
(``E-...`` for errors, ``W-...`` for warnings) so that scripts and reports can
match on it. Errors also derive from the builtin a caller would expect
(``ValueError`` for bad data, ``OSError`` for files), so ``except ValueError``
keeps working for code that does not know nbgeo.

This module imports only :mod:`nbgeo.dsn` (which imports nothing from nbgeo):
every other module may import it. Every message and every problem passes
through :func:`nbgeo.dsn.mask_dsn` when it is made, so no error nbgeo raises
shows a database password, whoever built its text.

Examples
--------
>>> from nbgeo.errors import CRSError, NbgeoError
>>> err = CRSError("layer 'chargers' has no CRS", code="E-CRS-MISSING")
>>> isinstance(err, NbgeoError), isinstance(err, ValueError), err.code
(True, True, 'E-CRS-MISSING')
"""

from __future__ import annotations

from dataclasses import dataclass

from .dsn import mask_dsn

__all__ = [
    "CRSError",
    "DataError",
    "DatabaseError",
    "FilterError",
    "GeometryError",
    "InputError",
    "LayerError",
    "LimitError",
    "MapError",
    "MissingDataError",
    "NbgeoError",
    "NbgeoWarning",
    "OutputError",
    "PlanError",
    "Problem",
    "RoadNetworkError",
    "RuleError",
    "UsageError",
    "ValidationError",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in the input, located as precisely as nbgeo can.

    Parameters
    ----------
    code
        Stable code such as ``E-GEOM-SELFX``.
    message
        What is wrong, in plain words.
    file, layer, feature, column
        Where it is; ``None`` when it does not apply.
    hint
        What the user can do about it.
    """

    code: str
    message: str
    file: str | None = None
    layer: str | None = None
    feature: object = None
    column: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        for name in ("message", "file", "hint"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, mask_dsn(value))

    @property
    def is_error(self) -> bool:
        """Whether this problem stops the work (``E-`` codes) or only warns."""
        return self.code.startswith("E-")

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file!r}")
        if self.layer:
            where.append(f"layer {self.layer!r}")
        if self.feature is not None:
            where.append(f"feature {self.feature!r}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = f"[{self.code}] "
        if where:
            text += ", ".join(where) + ": "
        text += self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def to_dict(self) -> dict[str, object]:
        """Return the problem as JSON-ready data."""
        feature = self.feature
        if feature is not None and not isinstance(feature, (int, str, float)):
            feature = str(feature)
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "layer": self.layer,
            "feature": feature,
            "column": self.column,
            "hint": self.hint,
        }


class NbgeoError(Exception):
    """Root of every error nbgeo raises on purpose.

    Parameters
    ----------
    message
        The full message: what was wrong, what was received, what to do.
    code
        A stable code; subclasses supply a default.
    problems
        The individual problems behind the error, when there are several.
    """

    default_code = "E-NBGEO"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        problems: tuple[Problem, ...] | list[Problem] = (),
    ) -> None:
        message = mask_dsn(message)
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return self.message


class InputError(NbgeoError, ValueError):
    """The input (a file, a path, an argument) cannot be used as given."""

    default_code = "E-INPUT"


class DataError(InputError):
    """A layer's content is wrong: columns, values, ids."""

    default_code = "E-DATA"


class LayerError(DataError):
    """A layer is missing, empty, ambiguous or of the wrong geometry type."""

    default_code = "E-LAYER"


class GeometryError(DataError):
    """A geometry is invalid, non-finite or of the wrong type."""

    default_code = "E-GEOM"


class CRSError(DataError):
    """A CRS is missing, mismatched, or the coordinates do not fit it."""

    default_code = "E-CRS"


class PlanError(InputError):
    """A plan file is malformed or names something that does not exist."""

    default_code = "E-PLAN"


class FilterError(PlanError):
    """A filter of the plan (``where`` and the like, see :mod:`nbgeo.filters`) is malformed or does not fit its layer."""

    default_code = "E-FILTER"


class MissingDataError(DataError):
    """The data a value needs is missing (a layer, a column, a year column, any feature to weigh).

    Verdicts (targets, coverage) report the value as ``unknown`` with this
    message; steps that cannot answer without the data (siting) stop with it.
    """

    default_code = "E-DATA-MISSING"


class RuleError(InputError):
    """A siting rule is malformed or cannot be evaluated."""

    default_code = "E-RULE"


class UsageError(InputError):
    """Arguments that do not go together, such as a single file's options given for a whole dataset."""

    default_code = "E-USAGE"


class LimitError(InputError):
    """An input exceeds a configured resource limit."""

    default_code = "E-LIMIT"


class RoadNetworkError(InputError):
    """A road network cannot be read, built or queried."""

    default_code = "E-NET"


class ValidationError(DataError):
    """Validation found one or more errors; ``problems`` lists all of them."""

    default_code = "E-VALIDATION"

    @classmethod
    def from_problems(cls, problems: list[Problem], *, context: str) -> ValidationError:
        """Build one error that lists every problem, errors first."""
        errors = [p for p in problems if p.is_error]
        lines = [f"{context}: {len(errors)} error(s)"]
        lines += [f"  - {p}" for p in errors]
        code = errors[0].code if len(errors) == 1 else cls.default_code
        return cls("\n".join(lines), code=code, problems=problems)


class OutputError(NbgeoError, OSError):
    """An output could not be written; nothing partial was left behind."""

    default_code = "E-IO"


class MapError(NbgeoError, RuntimeError):
    """A map, report page or PNG could not be made (missing assets, no headless browser, bad basemap key)."""

    default_code = "E-MAP"


class DatabaseError(NbgeoError, OSError):
    """A database could not be reached, read or written."""

    default_code = "E-DB"


class NbgeoWarning(UserWarning):
    """A recoverable data issue; the message starts with its ``W-`` code."""
