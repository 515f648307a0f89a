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
130, 143
    Interrupted (Ctrl-C, SIGINT) or terminated (SIGTERM). The message says
    what happened to the outputs: a command's outputs are published as one
    set (:mod:`nbgeo._atomic`), so they are either all written or left as
    they were.

Outputs
-------
Every command that writes a folder (``audit``, ``rules``, ``coverage``,
``site``, ``compare``, ``validate --out``) builds its whole set of files
beside ``--out`` and publishes it in one step, replacing the files that the
same command wrote there last time (listed in ``OUT/.nbgeo-outputs.json``)
and keeping every other file. A second run writing the same ``--out`` waits
for the first to finish (``E-IO-LOCKED`` after 10 minutes). ``map`` renders
the HTML and the PNG completely before it replaces either.

Databases
---------
Every argument that names a dataset (``DATASET``, ``compare A B``,
``compare --dataset``, ``validate PATH``, ``audit --snapshot YEAR=...``)
takes a folder or a ``postgresql://`` URL; ``audit --out`` takes a folder or
a URL. Every other path (``--out`` of the other commands, ``--png``,
``--plan``) is local only and refuses a URL with exit 2, so that no file or
folder is ever named after one. No message or log line shows a password
(:func:`nbgeo.dsn.mask_dsn`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import _atomic, datasets, io, limits, manifest, maps, plan, postgis, qgis, runs, steps
from . import audit as audit_mod
from . import compare as compare_mod
from .dsn import MaskingFilter, is_url, looks_like_conninfo, mask_dsn
from .engine import get_engine
from .errors import NbgeoError
from .paths import check_out
from .plan import check_against, plan_json_schema
from .renderers import chromium, terminal
from .sanitize import TerminalFormatter, terminal_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so the outputs being built are discarded as on Ctrl-C."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into :class:`_Terminated` for the block (the default would end the process on the spot)."""
    previous = None
    if threading.current_thread() is threading.main_thread():

        def terminated(signum: int, frame: Any) -> None:
            raise _Terminated

        with contextlib.suppress(ValueError, OSError):
            previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def echo(message: object = "", *, err: bool = False) -> None:
    """Print one message: everything the CLI prints goes through here, without escape sequences or controls.

    Plan text, layer names and feature ids reach the terminal; an ANSI or OSC sequence in them would be
    obeyed (clear the screen, print a fake verdict), so :func:`nbgeo.sanitize.terminal_text` removes them.
    """
    click.echo(terminal_text(mask_dsn(message)), err=err)


class _Group(click.Group):
    """A click group that turns nbgeo errors into exit code 2 with a clear message."""

    def invoke(self, ctx: click.Context) -> Any:
        with _atomic.tracking() as outputs, _sigterm_raises():
            try:
                return super().invoke(ctx)
            except NbgeoError as exc:
                echo(f"nbgeo: error {exc.code}: {mask_dsn(exc)}", err=True)
                sys.exit(EXIT_BAD_INPUT)
            except click.ClickException as exc:  # usage errors quote the arguments: never a password
                exc.message = terminal_text(mask_dsn(exc.message))  # type: ignore[misc]  # Final in the stubs only
                raise
            except (click.exceptions.Exit, click.exceptions.Abort, SystemExit):
                raise
            except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: say what became of the outputs, truly
                stopped = "terminated" if isinstance(exc, _Terminated) else "interrupted"
                echo(f"nbgeo: {stopped}; {_atomic.describe(outputs)}", err=True)
                sys.exit(128 + (signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT))
            except Exception as exc:  # a bug: say so plainly, with the type, and exit distinctly
                logging.getLogger("nbgeo").debug("internal error", exc_info=True)
                echo(f"nbgeo: internal error ({type(exc).__name__}: {mask_dsn(exc)}); rerun with -v for "
                           "details", err=True)
                sys.exit(EXIT_INTERNAL)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TerminalFormatter("%(levelname)s %(name)s: %(message)s"))  # log lines quote data too
    handler.addFilter(MaskingFilter())  # no log line shows a database password, whoever logs it
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("nbgeo").setLevel(level)
    # dask.distributed sets its own loggers to INFO (cluster start, workers, clients) from its config, read
    # when it is imported, and its worker processes read it again: say WARNING there (INFO with -vv), so
    # `--engine dask` is as quiet as the default engine.
    dask_level = logging.INFO if verbose > 1 and not quiet else logging.WARNING
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", logging.getLevelName(dask_level).lower())  # yours wins
    if "distributed" in sys.modules:  # already imported (the CLI called from Python): set the level directly
        logging.getLogger("distributed").setLevel(dask_level)


def _verbosity(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Add ``-v``/``-q`` given at this level to those given before it, and apply them."""
    obj = ctx.ensure_object(dict)
    obj["verbose"] = obj.get("verbose", 0) + verbose
    obj["quiet"] = obj.get("quiet", False) or quiet
    _configure_logging(obj["verbose"], obj["quiet"])
    steps.configure(quiet=obj["quiet"])


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value:
        _verbosity(ctx, value, quiet=False)
    return value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _verbosity(ctx, 0, quiet=True)
    return value


def _verbosity_opts(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-v``/``-q`` on a subcommand too, so ``nbgeo audit -q`` means what ``nbgeo -q audit`` does."""
    func = click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose,
                        help="More log output (repeat for debug).")(func)
    return click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                        help="Only errors; no tables or progress.")(func)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nbgeo")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no tables or progress.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """nbgeo: check a city's industrial spatial plan against its data.

    -q and -v may be given before or after the command (nbgeo -q audit, nbgeo audit -q).
    """
    ctx.ensure_object(dict).update(verbose=0, quiet=False)
    _verbosity(ctx, verbose, quiet)


# Which arguments take a database: every argument or option that names a dataset accepts a local path or a
# postgresql:// URL (_PathOrUrl); every other one (plans, --out folders and files, --png) takes a local path
# only (_LocalPath) and refuses a URL with exit 2, so that no file or folder is ever named after one.
# key=value connection strings are refused everywhere (a URL says the same). No message shows a password.


class _PathOrUrl(click.ParamType):
    """A local path, or a ``postgresql://`` URL kept as text (never shown with its password)."""

    name = "PATH|postgresql://URL"

    def __init__(self, *, folder: bool = False) -> None:
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path | str:
        if isinstance(value, Path):
            return value
        if self.folder:  # an output: an empty path would write into the current folder
            _check_out(value, self, param, ctx)
        if is_url(value):
            return str(value)
        if looks_like_conninfo(value):
            self.fail(f"{mask_dsn(value)!r} looks like a connection string; give a local path or a "
                      "postgresql://USER@HOST/DBNAME?schema=NAME URL", param, ctx)
        path = Path(value)
        if self.folder and path.is_file():
            self.fail(f"{str(path)!r} is a file; expected a folder", param, ctx)
        return path


class _LocalPath(click.Path):
    """A local file or folder: a database URL (or any connection string) is refused, with its password masked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(path_type=Path, **kwargs)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and looks_like_conninfo(value):
            self.fail(f"takes a local path, not a database URL or connection string ({mask_dsn(value)!r})",
                      param, ctx)
        return super().convert(value, param, ctx)


def _check_out(value: Any, kind: click.ParamType, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """Refuse an empty output path (it would be the current folder) as a usage error, exit code 2."""
    if isinstance(value, str):
        try:
            check_out(value, what=param.opts[0] if param is not None and param.opts else "--out")
        except NbgeoError as exc:
            kind.fail(exc.message, param, ctx)


class _OutPath(_LocalPath):
    """An output file or folder: local (no URL), and never empty (which would mean the current folder)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        _check_out(value, self, param, ctx)
        return super().convert(value, param, ctx)


def _dataset_arg(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("dataset", required=False, type=_PathOrUrl())(func)


def _plan_opt(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--plan", "plan_path", type=_LocalPath(),
                        help="Plan file (TOML; a local file, not a URL). Default: the embedded Ningbo 2025 plan.")(func)


_READ_KEYS = ("encoding", "assume_crs", "repair", "allow_network", "working_crs")
_LIMIT_KEYS = ("max_features", "max_vertices", "max_zip_ratio", "max_input_mb", "max_pixels", "max_work_seconds",
               "max_total_work_seconds")


def _read_opts(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options for reading planners' data: encodings, CRS, repairs, network access and limits.

    ``--crs`` is the working CRS to measure in, ``--assume-crs`` the CRS of layers that declare none.

    They are kept in ``ctx.obj["read_options"]`` (which :func:`load_inputs` passes to the reader) and the
    limits are in force while the command runs.
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        read = {key: kwargs.pop(key) for key in _READ_KEYS}
        given = {key: kwargs.pop(key) for key in _LIMIT_KEYS}
        mb = given.pop("max_input_mb")
        given["max_input_bytes"] = None if mb is None else int(mb * 2**20)
        click.get_current_context().ensure_object(dict)["read_options"] = read
        with limits.override(**given):
            return func(*args, **kwargs)

    options = [
        click.option("--encoding", default=None, metavar="NAME",
                     help="Text encoding of Shapefiles without .cpg and of CSV files, e.g. GBK."),
        click.option("--assume-crs", default=None, metavar="CRS",
                     help="CRS of layers whose file and manifest declare none, e.g. EPSG:4490 (recorded in the report)."),
        click.option("--crs", "working_crs", default=None, metavar="CRS",
                     help="The projected CRS to measure lengths, areas and distances in, e.g. EPSG:4549 "
                          "(default: [crs] working in dataset.toml, else one chosen from the data's extent; "
                          "recorded in the report)."),
        click.option("--repair", is_flag=True,
                     help="Repair invalid geometries with make_valid (never buffer(0)); every change is listed in "
                          "the report."),
        click.option("--allow-network", is_flag=True, help="Allow remote inputs (http://, /vsicurl/, s3://)."),
        click.option("--max-features", type=click.IntRange(min=1), default=None, metavar="N",
                     help=f"Most features per layer (default {limits.max_features:,})."),
        click.option("--max-vertices", type=click.IntRange(min=1), default=None, metavar="N",
                     help=f"Most vertices per geometry (default {limits.max_vertices:,})."),
        click.option("--max-zip-ratio", type=click.FloatRange(min=1), default=None, metavar="R",
                     help=f"Largest zip expansion ratio (default {limits.max_zip_ratio:,.0f})."),
        click.option("--max-input-mb", type=click.FloatRange(min=0, min_open=True), default=None, metavar="MB",
                     help=f"Largest input file or uncompressed archive (default {limits.max_input_bytes // 2**20:,} MB)."),
        click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N",
                     help=f"Most raster pixels per band read (default {limits.max_pixels:,})."),
        click.option("--max-work-seconds", type=click.FloatRange(min=0, min_open=True), default=None, metavar="S",
                     help="Most estimated seconds one geometry may cost a validity check, repair or overlay "
                          f"(default {limits.max_work_seconds:g})."),
        click.option("--max-total-work-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
                     metavar="S", help="Most estimated seconds one such step may cost a layer "
                                       f"(default {limits.max_total_work_seconds:g})."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _read_kwargs() -> dict[str, Any]:
    """The read options of the running command (empty outside one)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or not isinstance(ctx.obj, dict):
        return {}
    return dict(ctx.obj.get("read_options", {}))


def _parse_snapshots(ctx: click.Context, param: click.Parameter,
                     values: tuple[str, ...]) -> dict[int, Path | str]:
    """``YEAR=DATASET`` options into ``{year: dataset}`` (a local path, or a postgresql:// URL)."""
    out: dict[int, Path | str] = {}
    for value in values:
        year, sep, path = value.partition("=")
        if not sep or not year.strip().isdigit() or not path.strip():
            msg = f"{mask_dsn(value)!r} is not YEAR=DATASET (e.g. 2022=data/zones_2022)"
            raise click.BadParameter(msg, ctx=ctx, param=param)
        if int(year) in out:
            msg = f"two snapshots for {int(year)}"
            raise click.BadParameter(msg, ctx=ctx, param=param)
        out[int(year)] = _PathOrUrl().convert(path.strip(), param, ctx)
    return out


def _read_dataset(dataset: Path | str | None, *, working_crs: str | None = None) -> Any:
    """Read a dataset named on the command line: a folder (default: the sample) or a ``postgresql://`` URL.

    ``working_crs`` overrides ``--crs`` (snapshots are measured in the audited dataset's working CRS).
    """
    kwargs = _read_kwargs()
    if working_crs is not None:
        kwargs["working_crs"] = working_crs
    if is_url(dataset):
        return postgis.read_dataset(str(dataset), working_crs=kwargs.get("working_crs"))
    return io.read_dataset(dataset if dataset is not None else datasets.get_path("ningbo"), **kwargs)


def load_inputs(dataset: Path | str | None, plan_path: Path | None) -> tuple[Any, Any]:
    """Read the dataset (a folder, or a ``postgresql://`` URL) and plan named on the command line."""
    with steps.step("reading the dataset"):
        ds = _read_dataset(dataset)
    p = plan.read_plan(plan_path if plan_path is not None else datasets.get_path("ningbo_2025"))
    check_against(p, ds)  # every layer, raster, column and filter against the dataset, before any work
    return ds, p


_COORDS = click.option("--coords", "coords", multiple=True, type=click.Choice(["gcj02"]),
                       help="Extra coordinates in the check table (--format xlsx/csv): gcj02 adds GCJ-02 longitude "
                            "and latitude, to find each site on Amap (the data's own datum is always there).")


def _check_formats(formats: tuple[str, ...], coords: tuple[str, ...]) -> None:
    """Refuse --coords without a check table, and --format pdf without a browser, before any work."""
    if coords and not {"xlsx", "csv"} & set(formats):
        msg = "--coords adds columns to the check table: add --format xlsx or --format csv"
        raise click.UsageError(msg)
    if "pdf" in formats:
        chromium.require_chromium()


@main.command()
@_dataset_arg
@_plan_opt
@click.option("--out", "out_dir", required=True, type=_PathOrUrl(folder=True),
              help="Folder for audit.json and audit.html, or a postgresql://...?schema=NAME URL to write the "
                   "results into tables of that schema (a rerun replaces the same audit's rows).")
@click.option("--engine", type=click.Choice(["default", "dask"]), default=None,
              help="Where the heavy steps run: this process (default) or a Dask cluster (same results).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="A running Dask scheduler for --engine dask (default: a local cluster of 2 workers).")
@click.option("--year", type=int, default=None, help="Evaluation year (default: the plan's horizon).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Map labels.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--no-map", is_flag=True, help="Skip the map in audit.html (faster).")
@click.option("--exclude-failing", is_flag=True,
              help="Leave sites that fail a siting rule out of the targets and later counts (they stay in the "
                   "rules section and on the map).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Track every target year by year from the plan's baseline: on track, at risk or off track "
                   "(audit.json 'progress'; never changes the exit code).")
@click.option("--snapshot", "snapshots", multiple=True, metavar="YEAR=DATASET", callback=_parse_snapshots,
              help="The dataset as it was in YEAR (a folder or a postgresql:// URL), used for that year's "
                   "progress instead of the year columns (repeatable).")
@click.option("--format", "formats", multiple=True, type=click.Choice(list(runs.AUDIT_FORMATS)), default=("html",),
              show_default=True, help="Report formats besides audit.json: html (one offline page), md (Markdown), "
                                      "qgis (findings.gpkg and project.qgz), pdf (audit.pdf: the page printed by "
                                      "headless Chromium, A4), xlsx and csv (the per-site check table 图斑核查表, "
                                      "site_checks.xlsx / site_checks.csv); repeatable.")
@_COORDS
@click.option("--strict", is_flag=True,
              help="Let findings of severity 建议 (nbgeo's or the office's suggestions) change the exit code too; "
                   "by default only 禁止 (prohibited) and 限制 (restricted) do.")
@_read_opts
@_verbosity_opts
@click.pass_context
def audit(ctx: click.Context, dataset: Path | str | None, plan_path: Path | None, out_dir: Path | str,
          engine: str | None, scheduler: str | None, year: int | None, lang: str, overwrite: bool,
          no_map: bool, progress: bool, snapshots: dict[int, Path | str], formats: tuple[str, ...],
          exclude_failing: bool, coords: tuple[str, ...], strict: bool) -> None:
    """Audit DATASET (a folder or a postgresql:// URL; default: the embedded Ningbo sample) against a plan.

    Writes OUT/audit.json and OUT/audit.html and prints the target table and
    the progress of every target as of the evaluation year.
    Exit 0 when everything is met, 1 when something is not, 2 for bad input; findings of severity 建议
    (suggestions) count only with --strict.
    """
    _check_formats(formats, coords)
    ds, p = load_inputs(dataset, plan_path)
    if snapshots and not progress:
        msg = "--snapshot feeds the progress; drop --no-progress or the snapshots"
        raise click.UsageError(msg)
    # Earlier snapshots are measured in this dataset's working CRS, so that an unchanged site measures alike.
    same_crs = ds.crs_choice.text if ds.crs_choice is not None else None
    history = {y: _read_dataset(path, working_crs=same_crs) for y, path in snapshots.items()}
    result = audit_mod.run_audit(ds, p, year=year, engine=engine, scheduler=scheduler, progress=progress,
                                 snapshots=history or None, exclude_failing=exclude_failing, strict=strict)
    if isinstance(out_dir, str):  # a postgresql:// URL

        with _atomic.recording(postgis.mask_dsn(out_dir)):  # one transaction: all rows or none
            counts = postgis.write_report(result, out_dir)
        if not ctx.obj["quiet"]:
            echo(result.to_text(_terminal_lang(ctx, lang)))
            _echo_plan_sections(result, _terminal_lang(ctx, lang))
            echo(f"wrote {sum(counts.values())} rows to {len(counts)} tables in {postgis.mask_dsn(out_dir)}")
        ctx.exit(result.exit_code)
    names = ["audit.json", *runs.format_files("audit", formats), *(qgis.FILES if "qgis" in formats else ())]
    _atomic.check_outputs(out_dir, command="audit", names=names, overwrite=overwrite)
    with steps.step("writing the report"):
        outputs = runs.audit_outputs(result, formats=formats, lang=lang, with_map=not no_map, coords=coords,
                                     out=out_dir)
        paths = outputs.write(out_dir, overwrite=overwrite)
    if not ctx.obj["quiet"]:
        echo(result.to_text(_terminal_lang(ctx, lang)))
        _echo_plan_sections(result, _terminal_lang(ctx, lang))
        echo("wrote " + ", ".join(str(p) for p in paths))
    ctx.exit(result.exit_code)


@main.command("map")
@_dataset_arg
@_plan_opt
@click.option("--out", "out_file", required=True, type=_OutPath(dir_okay=False),
              help="The map's HTML file (one local file, not a URL; opens offline).")
@click.option("--png", "png_file", type=_OutPath(dir_okay=False), default=None,
              help="Also a PNG image of the map (a local file), drawn by headless Chromium (no Selenium).")
@click.option("--size", default="1600x1000", show_default=True, metavar="WxH", help="Size of the PNG in pixels.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Labels.")
@click.option("--basemap", type=click.Choice(["none", "osm", "tianditu", "amap"]), default="none", show_default=True,
              help="Tiles under the layers: none (offline), OpenStreetMap, Tianditu (needs a key) or Amap "
                   "(GCJ-02: the layers are shifted to match).")
@click.option("--tianditu-key", default=None, metavar="KEY", envvar="NBGEO_TIANDITU_KEY",
              help="Your Tianditu key for --basemap tianditu (or set NBGEO_TIANDITU_KEY).")
@click.option("--layers", "layer_names", default=None, metavar="A,B,...", help="Only these layers (default: all).")
@click.option("--year", type=int, default=None, help="Evaluation year of the target panel (default: the plan's horizon).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@_read_opts
@_verbosity_opts
@click.pass_context
def map_cmd(ctx: click.Context, dataset: Path | str | None, plan_path: Path | None, out_file: Path,
            png_file: Path | None, size: str, lang: str, basemap: str, tianditu_key: str | None,
            layer_names: str | None, year: int | None, overwrite: bool) -> None:
    """Draw DATASET (a folder or a postgresql:// URL; default: the embedded Ningbo sample) as one offline HTML map.

    The map has every layer with its legend, the audit's findings on top and
    a panel with the target verdicts of the plan. With --png, also an image.
    Exit 0 when written, 2 for bad input (the verdicts do not set the exit code: use nbgeo audit).
    """
    match = re.fullmatch(r"(\d{2,5})x(\d{2,5})", size)
    if not match:
        msg = f"--size {size!r} is not WIDTHxHEIGHT, e.g. 1600x1000"
        raise click.UsageError(msg)
    targets = [out_file] if png_file is None else [out_file, png_file]
    if png_file is not None and os.path.abspath(png_file) == os.path.abspath(out_file):
        msg = "--png names the same file as --out"
        raise click.UsageError(msg)
    for path in targets:
        _atomic.check_overwrite(path, overwrite=overwrite)
    if png_file is not None:
        chromium.require_chromium()  # no browser: say so before writing anything
    ds, p = load_inputs(dataset, plan_path)
    names = [n.strip() for n in layer_names.split(",") if n.strip()] if layer_names else None
    for name in names or ():
        ds.layer(name)  # a clear error naming the available layers
    result = audit_mod.run_audit(ds, p, year=year)
    m = maps.audit_map(result, lang=lang, basemap=basemap, tianditu_key=tianditu_key, layers=names)
    # Both files complete before either is replaced: a PNG that cannot be drawn leaves the old HTML and PNG.
    with _atomic.atomic_files(targets, overwrite=overwrite) as temps:
        maps.write_map(m, temps[0], overwrite=True)  # the temporaries are nbgeo's own
        if png_file is not None:
            chromium.screenshot(temps[0], temps[1], width=int(match[1]), height=int(match[2]), overwrite=True)
    if not ctx.obj["quiet"]:
        size_mb = out_file.stat().st_size / 1e6
        echo(f"wrote {out_file} ({size_mb:.1f} MB)" + (f" and {png_file}" if png_file is not None else ""))


def _terminal_lang(ctx: click.Context, lang: str, param: str = "lang") -> str:
    """The terminal's language: English, unless ``--lang`` was given on the command line (then that)."""
    given = ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE
    return lang if given else "en"


def _echo_plan_sections(result: Any, lang: str) -> None:
    """Print the indicators, progress, rules and coverage of an audit, when it has them, in ``lang``."""
    text = terminal.sections_text(result, lang)
    if text:
        echo(text)


def _scenario_kind(path: Path | str) -> str:
    """Whether a compare argument is a dataset (folder, manifest or postgresql:// URL) or a plan file."""
    return "dataset" if isinstance(path, str) else manifest.document_kind(path)


@main.command("compare")
@click.argument("a", type=_PathOrUrl())
@click.argument("b", type=_PathOrUrl())
@click.option("--out", "out_dir", required=True, type=_OutPath(file_okay=False),
              help="Folder for compare.json and compare.html (a local folder, not a URL).")
@click.option("--plan", "plan_path", type=_LocalPath(),
              help="With two datasets: the plan (a local file; default: the embedded Ningbo 2025 plan).")
@click.option("--plan-b", "plan_b_path", type=_LocalPath(),
              help="With two datasets: a different plan for B (a local file).")
@click.option("--dataset", "dataset_path", type=_PathOrUrl(),
              help="With two plans: the dataset, a folder or a postgresql:// URL (default: the embedded Ningbo "
                   "sample).")
@click.option("--year", type=int, default=None,
              help="Evaluation year of both (default: the plan's horizon; with two plans, the earlier one).")
@click.option("--label-a", default=None, help="Name of scenario A, e.g. 'as built'.")
@click.option("--label-b", default=None, help="Name of scenario B, e.g. 'proposed'.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Map labels.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--no-map", is_flag=True, help="Skip the map in compare.html (faster).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Compare the progress per year too.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf"]), default=("html",),
              show_default=True, help="html (compare.html) or pdf (compare.pdf, printed by Chromium, A4); repeatable.")
@_read_opts
@_verbosity_opts
@click.pass_context
def compare_cmd(ctx: click.Context, a: Path | str, b: Path | str, out_dir: Path, plan_path: Path | None,
                plan_b_path: Path | None, dataset_path: Path | str | None, year: int | None, label_a: str | None,
                label_b: str | None, lang: str, overwrite: bool, no_map: bool, progress: bool,
                formats: tuple[str, ...]) -> None:
    """Compare two scenarios A and B: two datasets (e.g. as built and proposed) or two plan files.

    A dataset is a folder, its dataset.toml or a postgresql:// URL; a plan is a local file.

    Audits both, then writes OUT/compare.json and OUT/compare.html (targets,
    rule findings, coverage, indicators and progress side by side, sites
    added, removed and moved per layer, and a map of B with the changes) and
    prints the targets side by side. Exit 0 when no verdict got worse from A
    to B, 1 when one did, 2 for bad input.
    """
    kinds = (_scenario_kind(a), _scenario_kind(b))
    if kinds[0] != kinds[1]:
        msg = f"A is a {kinds[0]} and B a {kinds[1]}; compare two datasets or two plans"
        raise click.UsageError(msg)
    if kinds[0] == "plan":
        if plan_path or plan_b_path:
            msg = "A and B are plans; --plan and --plan-b are for comparing two datasets"
            raise click.UsageError(msg)
        ds_a = ds_b = _read_dataset(dataset_path)
        plan_a, plan_b = plan.read_plan(a), plan.read_plan(b)
    else:
        if dataset_path:
            msg = "A and B are datasets; --dataset is for comparing two plans"
            raise click.UsageError(msg)
        ds_a, ds_b = _read_dataset(a), _read_dataset(b)
        plan_a = plan.read_plan(plan_path if plan_path is not None else datasets.get_path("ningbo_2025"))
        plan_b = plan.read_plan(plan_b_path) if plan_b_path is not None else plan_a
    labels = (label_a or "A", label_b or "B") if label_a or label_b else None
    _check_formats(formats, ())  # --format pdf and no browser: say so before any work
    result = compare_mod.compare(ds_a, ds_b, plan_a, plan_b, year=year, labels=labels, progress=progress)
    paths = compare_mod.write_comparison(result, out_dir, overwrite=overwrite, lang=lang, with_map=not no_map,
                                         formats=formats)
    if not ctx.obj["quiet"]:
        echo(terminal.compare_text(result, _terminal_lang(ctx, lang)) + "\nwrote "
             + ", ".join(str(p) for p in paths.values()))
    ctx.exit(result.exit_code)


@main.command("schema")
@click.argument("what", type=click.Choice(["plan"]))
def schema_cmd(what: str) -> None:
    """Print the JSON Schema of a plan file for editors: save it and start the plan with #:schema ./FILE."""
    click.echo(plan_json_schema(), nl=False)


def _pairs(given: tuple[str, ...], option: str) -> dict[str, str]:
    """``("name=名称", ...)`` as ``{"name": "名称"}``; a usage error naming the option when one lacks its ``=``."""
    out: dict[str, str] = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            msg = f"{option} {item!r}: write OURS=THEIRS, e.g. {option} name=名称"
            raise click.UsageError(msg)
        out[key.strip()] = value.strip()
    return out


@main.command("validate")
@click.argument("path", type=_PathOrUrl())
@click.option("--kind", default=None, metavar="KIND",
              help="Schema for a single file, e.g. chargers (default: the file's name when it names a layer kind).")
@click.option("--layer", "layer_name", default=None, metavar="NAME",
              help="The layer inside a GeoPackage, FileGDB, zip archive or Excel workbook (sheet).")
@click.option("--datum", type=click.Choice(["WGS84", "CGCS2000", "GCJ-02", "BD-09"]), default=None,
              help="Datum of a single file's coordinates (required for CSV and Excel: web maps are GCJ-02 or BD-09).")
@click.option("--file-crs", "crs_text", default=None, metavar="CRS",
              help="CRS a single file's coordinates are in, as a manifest's crs key declares it, e.g. EPSG:4549.")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="MAP.toml",
              help="A single file's field and value mapping: a TOML file with the keys its [layers.NAME] table in "
                   "dataset.toml will have (columns = { name = \"名称\" }, values.use = \"gb_land_use_2023\", "
                   "datum, encoding, ...).")
@click.option("--column", "column_pairs", multiple=True, metavar="OURS=THEIRS",
              help="Read the file's field THEIRS as column OURS, e.g. --column name=名称 (repeatable; as columns in "
                   "dataset.toml).")
@click.option("--values", "value_pairs", multiple=True, metavar="COLUMN=TABLE",
              help="Read COLUMN's codes with a national code table, e.g. --values use=gb_land_use_2023 (repeatable; "
                   "lists of labels go in a --mapping file).")
@click.option("--unit", "unit_pairs", multiple=True, metavar="COLUMN=UNIT",
              help="COLUMN's unit in the file, converted on read, e.g. --unit area=亩 (repeatable; as units).")
@click.option("--geometry-column", default=None, metavar="NAME", help="The WKT or hex WKB column of a CSV or sheet.")
@click.option("--out", "out_dir", type=_OutPath(file_okay=False), default=None,
              help="Write validation.json here (a local folder, not a URL); with --repair, also the repaired layers as GeoPackages (repaired/).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@_read_opts
@_verbosity_opts
@click.pass_context
def validate_cmd(ctx: click.Context, path: Path | str, kind: str | None, layer_name: str | None, datum: str | None,
                 crs_text: str | None, mapping: Path | None, column_pairs: tuple[str, ...],
                 value_pairs: tuple[str, ...], unit_pairs: tuple[str, ...], geometry_column: str | None,
                 out_dir: Path | None, overwrite: bool) -> None:
    """Check PATH (a dataset folder, its dataset.toml, one layer file, or a postgresql:// URL) and list every problem.

    One bureau file can be checked before any dataset.toml exists, its own names mapped:
    nbgeo validate 供地.shp --kind land_transfers --column use=地类编码 --values use=gb_land_use_2023

    Exit 0 when it can be used (warnings are listed), 2 when it has errors.
    """
    single = {"kind": kind, "layer": layer_name, "datum": datum, "crs": crs_text, "mapping": mapping,
              "columns": _pairs(column_pairs, "--column") or None, "values": _pairs(value_pairs, "--values") or None,
              "units": _pairs(unit_pairs, "--unit") or None, "geometry_column": geometry_column}
    repair = bool(_read_kwargs().get("repair"))
    if out_dir is not None:
        _atomic.check_outputs(out_dir, command="validate", names=runs.validate_files(repair=repair),
                              overwrite=overwrite)
    with steps.step("validating"):
        outputs, failed = runs.validate_run(path, single=single, **_read_kwargs())
    if out_dir is not None:
        outputs.write(out_dir, overwrite=overwrite)
    if failed is not None:
        raise failed
    if not ctx.obj["quiet"]:
        echo(outputs.text)


_SITE_FORMAT = click.option("--format", "formats", multiple=True, type=click.Choice(["html", "md", "pdf", "qgis"]),
                             default=("html",), show_default=True,
                             help="Formats of the page: html (audit.html), md (audit.md), pdf (audit.pdf, printed by "
                                  "headless Chromium, A4), qgis (styled findings.gpkg and project.qgz); repeatable.")

_STRICT = click.option("--strict", is_flag=True,
                       help="Let findings of severity 建议 (nbgeo's or the office's suggestions) change the exit code "
                            "too; by default only 禁止 (prohibited) and 限制 (restricted) do.")


def _page_format(stem: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` of a command whose page is ``STEM.html`` (rules, coverage)."""
    return click.option(
        "--format", "formats", multiple=True, type=click.Choice(list(runs.PAGE_FORMATS)), default=("html",),
        show_default=True,
        help=f"Outputs besides the JSON: html ({stem}.html: the {stem} section of audit.html, tables and map), md "
             f"({stem}.md: that section of audit.md), pdf ({stem}.pdf, printed by headless Chromium, A4), xlsx, csv "
             "(the per-site check table 图斑核查表: site_checks.xlsx / .csv, UTF-8 with BOM), qgis (styled "
             "findings.gpkg and project.qgz); repeatable.")


@main.command("rules")
@_dataset_arg
@_plan_opt
@click.option("--out", "out_dir", required=True, type=_OutPath(file_okay=False),
              help="Folder for rules.json, rule_sites.csv and rule_failures.geojson (a local folder, not a URL).")
@click.option("--rule", "rule_ids", multiple=True, metavar="ID", help="Only this rule (repeatable).")
@click.option("--layer", "layer_names", multiple=True, metavar="NAME", help="Only the rules of this layer (repeatable).")
@click.option("--tolerance-band", type=click.FloatRange(min=0), default=None, metavar="R",
              help="Relative tolerance band around each limit (default: the tolerance_band setting); a rule's own "
                   "'tolerance' wins.")
@click.option("--all-sites", is_flag=True, help="List every site in rules.json, not only failing and unknown ones.")
@click.option("--year", type=int, default=None,
              help="Audited year (default: the plan's horizon): the sites existing that year are judged; later "
                   "ones are counted apart.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@_page_format("rules")
@_COORDS
@click.option("--lang", "page_lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of rules.html, rules.md, the PDF and the check table.")
@click.option("--no-map", "page_no_map", is_flag=True, help="Leave the map out of rules.html (faster).")
@_STRICT
@_read_opts
@_verbosity_opts
@click.pass_context
def rules_cmd(ctx: click.Context, dataset: Path | None, plan_path: Path | None, out_dir: Path,
              rule_ids: tuple[str, ...], layer_names: tuple[str, ...], tolerance_band: float | None,
              all_sites: bool, year: int | None, overwrite: bool, formats: tuple[str, ...],
              coords: tuple[str, ...], page_lang: str, page_no_map: bool, strict: bool) -> None:
    """Check DATASET (a folder or a postgresql:// URL; default: the embedded sample) against the plan's rules alone.

    Writes OUT/rules.json (the "rules" section of audit.json), OUT/rule_sites.csv
    (every site of every rule: status, value, limit, margin, unit, reason),
    OUT/rule_failures.geojson (failing sites and their offending geometry, WGS 84)
    and OUT/rules.html (the rules section of audit.html, with its map), and
    what --format asks: rules.md, rules.pdf, site_checks.xlsx / .csv (one row
    per site and finding; --coords gcj02 adds GCJ-02 coordinates).
    Exit 0 when every site passes, 1 when one fails or is unknown, 2 for bad input; rules of severity
    建议 (suggestions) count only with --strict.
    """
    _check_formats(formats, coords)
    names = [*runs.RULES_FILES, *runs.format_files("rules", formats), *(qgis.FILES if "qgis" in formats else ())]
    _atomic.check_outputs(out_dir, command="rules", names=names, overwrite=overwrite)
    ds, p = load_inputs(dataset, plan_path)
    with steps.step("siting rules"):
        outputs = runs.rules_run(ds, p, rule_ids=rule_ids, layers=layer_names, tolerance_band=tolerance_band,
                                 all_sites=all_sites, out=out_dir if "qgis" in formats else None, formats=formats,
                                 coords=coords, lang=page_lang, with_map=not page_no_map, year=year, strict=strict,
                                 text_lang=_terminal_lang(ctx, page_lang, "page_lang"))
    _finish(ctx, outputs, out_dir, overwrite)


@main.command("site")
@_dataset_arg
@_plan_opt
@click.option("--out", "out_dir", required=True, type=_OutPath(file_okay=False),
              help="Folder for sites.gpkg, audit.json and audit.html (a local folder, not a URL).")
@click.option("--siting", "siting_ids", multiple=True, metavar="ID",
              help="Only this [[siting]] question of the plan (repeatable; default: all of them).")
@click.option("--demand", default=None, metavar="LAYER", help="Ask a question of your own: the demand layer.")
@click.option("--facilities", default=None, metavar="LAYER", help="... the facility layer new sites join.")
@click.option("--distance", type=click.FloatRange(min=0, min_open=True), default=None, metavar="M",
              help="... the service distance in metres.")
@click.option("--k", "k", type=click.IntRange(min=0), default=None,
              help="Choose the best K new sites (maximal covering) instead of the fewest that serve all.")
@click.option("--share", type=click.FloatRange(min=0, max=1, min_open=True), default=None,
              help="Fewest new sites serving this share of the demand (0-1]; default: the requirement.")
@click.option("--by", type=click.Choice(["road", "straight"]), default=None,
              help="Distance by road (the dataset's road network) or in a straight line.")
@click.option("--candidates", default=None, metavar="SPEC",
              help="Candidate sites: network, grid, suitability:ID, zones:ID or a layer name.")
@click.option("--cell", type=click.FloatRange(min=0, min_open=True), default=None, metavar="M",
              help="Grid spacing / road-node thinning / suitability cell spacing in metres.")
@click.option("--method", type=click.Choice(["greedy", "milp", "auto"]), default=None,
              help="Solver: greedy (fast), milp (exact, HiGHS) or auto.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="S",
              help="Seconds the exact solver, and the heuristic's improvement, may take.")
@click.option("--surface", "surface_ids", multiple=True, metavar="ID",
              help="Also build this [[suitability]] surface: its GeoTIFF, zones and map layer (repeatable).")
@click.option("--year", type=int, default=None, help="Evaluation year (default: the plan's horizon).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Map labels.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--no-map", is_flag=True, help="Skip the map in audit.html (faster).")
@_SITE_FORMAT
@_read_opts
@_verbosity_opts
@click.pass_context
def site_cmd(ctx: click.Context, dataset: Path | None, plan_path: Path | None, out_dir: Path,
             siting_ids: tuple[str, ...], demand: str | None, facilities: str | None, distance: float | None,
             k: int | None, share: float | None, by: str | None, candidates: str | None, cell: float | None,
             method: str | None, time_limit: float | None, surface_ids: tuple[str, ...], year: int | None,
             lang: str, overwrite: bool, no_map: bool, formats: tuple[str, ...]) -> None:
    """Where to put new facilities: answer the plan's [[siting]] questions (or one of your own) on DATASET.

    DATASET is a folder or a postgresql:// URL (default: the embedded sample).

    Candidate sites that fail one of the plan's siting rules are never chosen.
    Writes OUT/sites.gpkg (per question: the chosen sites, every candidate with
    its verdict, every demand site served before and after), OUT/audit.json
    (the "optimisation" section) and OUT/audit.html (with the map), plus
    OUT/ID.tif for every suitability surface built. Exit 0 when every question
    is met (or only proposes), 1 when a requirement cannot be met, 2 for bad input.
    """
    _check_formats(formats, ())
    names = [*runs.site_files(surface_ids, formats), *(qgis.FILES if "qgis" in formats else ())]
    _atomic.check_outputs(out_dir, command="site", names=names, overwrite=overwrite)
    ds, p = load_inputs(dataset, plan_path)
    adhoc = {"demand": demand, "facilities": facilities, "distance": distance}
    ask = adhoc if any(v is not None for v in adhoc.values()) else None
    with steps.step("siting"):
        outputs = runs.site_run(ds, p, questions=siting_ids, ask=ask, surfaces=surface_ids, year=year, lang=lang,
                                with_map=not no_map, by=by, k=k, share=share, candidates=candidates, cell=cell,
                                method=method, time_limit=time_limit, out=out_dir if "qgis" in formats else None,
                                formats=formats, text_lang=_terminal_lang(ctx, lang))
    _finish(ctx, outputs, out_dir, overwrite)


@main.command("coverage")
@_dataset_arg
@_plan_opt
@click.option("--out", "out_dir", required=True, type=_OutPath(file_okay=False),
              help="Folder for coverage.json, coverage.geojson and coverage.html (a local folder, not a URL).")
@click.option("--id", "spec_ids", multiple=True, metavar="ID", help="Only this coverage requirement (repeatable).")
@click.option("--year", type=int, default=None, help="Evaluation year (default: the plan's horizon).")
@click.option("--engine", type=click.Choice(["default", "dask"]), default=None,
              help="Where sites and facilities are snapped: this process (default) or a Dask cluster (same results).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="A running Dask scheduler for --engine dask (default: a local cluster of 2 workers).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Map labels.")
@click.option("--no-map", is_flag=True, help="Leave the map out of coverage.html (faster).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@_page_format("coverage")
@_COORDS
@_STRICT
@_read_opts
@_verbosity_opts
@click.pass_context
def coverage_cmd(ctx: click.Context, dataset: Path | None, plan_path: Path | None, out_dir: Path,
                 spec_ids: tuple[str, ...], year: int | None, engine: str | None, scheduler: str | None, lang: str,
                 no_map: bool, overwrite: bool, formats: tuple[str, ...], coords: tuple[str, ...],
                 strict: bool) -> None:
    """Check DATASET (a folder or a postgresql:// URL; default: the sample) against the plan's coverage alone.

    Who the facilities serve, by road (on the dataset's road network) or in a straight line. Writes
    OUT/coverage.json (the "coverage" section of audit.json), OUT/coverage.geojson (service areas and
    uncovered sites, WGS 84) and OUT/coverage.html (the coverage section of audit.html: its tables and
    map), and what --format asks: coverage.md, coverage.pdf, site_checks.xlsx / .csv (one row per
    uncovered site; --coords gcj02 adds GCJ-02 coordinates). Exit 0 when every requirement is met, 1
    when one is not met or unknown, 2 for bad input; requirements of severity 建议 (suggestions) count
    only with --strict.
    """
    _check_formats(formats, coords)
    names = [*runs.COVERAGE_FILES[:2], *runs.format_files("coverage", formats),
             *(qgis.FILES if "qgis" in formats else ())]
    _atomic.check_outputs(out_dir, command="coverage", names=names, overwrite=overwrite)
    ds, p = load_inputs(dataset, plan_path)
    runner = get_engine(engine, scheduler=scheduler) if engine is not None or scheduler is not None else None
    try:
        with steps.step("coverage"):
            outputs = runs.coverage_run(ds, p, ids=spec_ids, year=year, engine=runner, lang=lang,
                                        with_map=not no_map, out=out_dir if "qgis" in formats else None,
                                        formats=formats, coords=coords, strict=strict,
                                        text_lang=_terminal_lang(ctx, lang))
    finally:
        if runner is not None:
            runner.close()
    _finish(ctx, outputs, out_dir, overwrite)


@main.group("qgis")
def qgis_group() -> None:
    """The QGIS Processing plugin of nbgeo."""


@qgis_group.command("install")
@click.option("--profile-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The QGIS profile folder (default: ~/.local/share/QGIS/QGIS3/profiles/default).")
@click.option("--link", is_flag=True, help="Symlink the plugin instead of copying it (for development).")
def qgis_install(profile_dir: Path | None, link: bool) -> None:
    """Install the nbgeo Processing plugin into a QGIS profile (then enable it in Plugins > Manage)."""
    echo(f"installed the QGIS plugin in {qgis.install_plugin(profile_dir, link=link)}")


def _finish(ctx: click.Context, outputs: runs.Outputs, out_dir: Path, overwrite: bool) -> None:
    """Write a command's outputs as one set, print its summary, and exit with its code."""
    with steps.step("writing the outputs"):
        written = outputs.write(out_dir, overwrite=overwrite)
    if not ctx.obj["quiet"]:
        if outputs.text:
            echo(outputs.text)
        echo("wrote " + ", ".join(str(path) for path in written))
    ctx.exit(outputs.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
