"""The ``nbgeo`` command: parse, call the library, write outputs, map errors to exit codes.

Exit codes
----------
0
    Everything checked is met.
1
    Something is not met (a target, a rule, a coverage requirement).
2
    Bad input or usage; nothing was written.
3
    An unexpected internal error (a bug: please report it).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import NbgeoError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _Group(click.Group):
    """A click group that turns nbgeo errors into exit code 2 with a clear message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NbgeoError as exc:
            click.echo(f"nbgeo: error {exc.code}: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("nbgeo: interrupted; no partial output was left", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug: say so plainly, with the type, and exit distinctly
            logging.getLogger("nbgeo").debug("internal error", exc_info=True)
            click.echo(f"nbgeo: internal error ({type(exc).__name__}: {exc}); rerun with -v for details", err=True)
            sys.exit(EXIT_INTERNAL)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("nbgeo").setLevel(level)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nbgeo")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no tables or progress.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """nbgeo: check a city's industrial spatial plan against its data."""
    _configure_logging(verbose, quiet)
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet


class _PathOrUrl(click.ParamType):
    """A local path, or a ``postgresql://`` URL kept as text (never shown with its password)."""

    name = "PATH|postgresql://URL"

    def __init__(self, *, folder: bool = False) -> None:
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path | str:
        from .postgis import is_postgres_url

        if is_postgres_url(value):
            return str(value)
        path = Path(value)
        if self.folder and path.is_file():
            self.fail(f"{str(path)!r} is a file; expected a folder", param, ctx)
        return path


def _dataset_arg(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("dataset", required=False, type=_PathOrUrl())(func)


def _plan_opt(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--plan", "plan_path", type=click.Path(path_type=Path),
                        help="Plan file (TOML). Default: the embedded Ningbo 2025 plan.")(func)


def load_inputs(dataset: Path | str | None, plan_path: Path | None) -> tuple[Any, Any]:
    """Read the dataset (a folder, or a ``postgresql://`` URL) and plan named on the command line."""
    from . import datasets, io, plan, postgis

    if postgis.is_postgres_url(dataset):
        ds = postgis.read_dataset(str(dataset))
    else:
        ds = io.read_dataset(dataset if dataset is not None else datasets.get_path("ningbo"))
    p = plan.read_plan(plan_path if plan_path is not None else datasets.get_path("ningbo_2025"))
    return ds, p


@main.command()
@_dataset_arg
@_plan_opt
@click.option("--out", "out_dir", required=True, type=_PathOrUrl(folder=True),
              help="Folder for audit.json and audit.html, or postgresql://...?schema=NAME to write the results "
                   "into tables of that schema (a rerun replaces the same audit's rows).")
@click.option("--engine", type=click.Choice(["default", "dask"]), default=None,
              help="Where the heavy steps run: this process (default) or a Dask cluster (same results).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="A running Dask scheduler for --engine dask (default: a local cluster of 2 workers).")
@click.option("--year", type=int, default=None, help="Evaluation year (default: the plan's horizon).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Map labels.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--no-map", is_flag=True, help="Skip the map in audit.html (faster).")
@click.pass_context
def audit(ctx: click.Context, dataset: Path | str | None, plan_path: Path | None, out_dir: Path | str,
          engine: str | None, scheduler: str | None, year: int | None, lang: str, overwrite: bool,
          no_map: bool) -> None:
    """Audit DATASET (default: the embedded Ningbo sample) against a plan.

    Writes OUT/audit.json and OUT/audit.html and prints the target table.
    Exit 0 when everything is met, 1 when something is not, 2 for bad input.
    """
    from . import audit as audit_mod
    from . import report

    ds, p = load_inputs(dataset, plan_path)
    result = audit_mod.run_audit(ds, p, year=year, engine=engine, scheduler=scheduler)
    if isinstance(out_dir, str):  # a postgresql:// URL
        from . import postgis

        counts = postgis.write_report(result, out_dir)
        if not ctx.obj["quiet"]:
            click.echo(result.to_text())
            click.echo(f"wrote {sum(counts.values())} rows to {len(counts)} tables in {postgis.mask_dsn(out_dir)}")
        ctx.exit(result.exit_code)
    paths = report.write_report(result, out_dir, overwrite=overwrite, lang=lang, with_map=not no_map)
    if not ctx.obj["quiet"]:
        click.echo(result.to_text())
        click.echo(f"wrote {paths['json']} and {paths['html']}")
    ctx.exit(result.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
