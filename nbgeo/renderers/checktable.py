"""The per-site check table (图斑核查表): one row per site and finding, as a bureau files it.

Each row is one site (图斑) with one finding of the audit: a siting rule it fails or cannot be checked
against (the ``rules`` section: every site with ``--all-sites``), or a coverage requirement it is not covered
by (the ``coverage`` section's uncovered sites). A row carries the rule's basis and severity where the plan
gives them (else the rule's ``source`` and the plan phrase), the measured value, the limit, the margin
(negative when the site fails), the verdict, the reason, the district the site lies in and the coordinates of
a point inside the site (``representative_point``) in the data's geographic datum; the column headings name
that datum, e.g. ``经度(WGS84)``. ``coords=("gcj02",)`` adds GCJ-02 columns for checking a site on Amap,
converted by :func:`nbgeo.crs.wgs84_to_gcj02` (an approximation: GCJ-02 is an obfuscation, not a datum).

:func:`to_xlsx` writes it as an Excel workbook (Chinese or English headings, the header row frozen, filters on
every column, widths to fit); :func:`to_csv_bytes` as CSV in UTF-8 with a byte-order mark (so Excel reads the
Chinese), through :func:`nbgeo.sanitize.to_csv`. In both, text that a spreadsheet would read as a formula
(``=HYPERLINK(...)``) stays text.

Examples
--------
>>> from nbgeo import audit, datasets, io, plan
>>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
>>> table = check_table(r)
>>> list(table.columns[:4]), table.columns[-2:].tolist()
(['核查类别', '规则或要求', '核查内容', '图层'], ['经度(WGS84)', '纬度(WGS84)'])
>>> row = table[table["图斑编号"] == "CL00001"].iloc[0]
>>> row["结论"], row["所在区县"], row["单位"]
('不符合', '镇海区', 'm')
>>> check_table(r, lang="en", coords=("gcj02",)).columns[-2:].tolist()
['longitude (GCJ-02)', 'latitude (GCJ-02)']
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..crs import wgs84_to_gcj02
from ..errors import OutputError
from ..sanitize import spreadsheet_cell, to_csv
from . import labels, readable

if TYPE_CHECKING:
    from ..audit import AuditReport

__all__ = ["COORDS", "FILES", "check_table", "site_places", "to_csv_bytes", "to_xlsx", "with_places"]

#: Extra coordinate systems the table can add (``--coords``).
COORDS = ("gcj02",)

#: The file of each table format (``--format xlsx`` / ``--format csv``).
FILES = {"xlsx": "site_checks.xlsx", "csv": "site_checks.csv"}

# The columns, in order; each heading is ``checks.KEY`` in nbgeo.renderers.labels.
_COLUMNS = ("section", "check", "check_title", "layer", "feature_id", "name", "verdict", "severity", "basis",
            "value", "limit", "margin", "unit", "reason", "district")


def _basis_cell(basis: Any) -> str:
    """A basis as the text of one cell: the instrument, its article and the phrase it rests on.

    >>> _basis_cell({"instrument": "《中华人民共和国土地管理法》", "article": "第三十五条", "phrase": "不得擅自占用"})
    '《中华人民共和国土地管理法》 第三十五条：“不得擅自占用”'
    >>> _basis_cell("the plan's phrase"), _basis_cell(None)
    ("the plan's phrase", '')
    """
    if not isinstance(basis, Mapping):
        return "" if basis is None else str(basis)
    text = " ".join(str(basis[k]) for k in ("instrument", "article") if basis.get(k))
    return f"{text}：“{basis['phrase']}”" if basis.get("phrase") else text


def _rule_rows(report: AuditReport, lang: str = "en") -> list[dict[str, Any]]:
    """One record per rule finding (failing and unknown sites; every site when rules.json lists them all)."""
    specs = {r.id: r for r in report.plan.rules}
    rows = []
    for entry in report.sections.get("rules", ()):
        spec = specs.get(str(entry.get("id")))
        params: Mapping[str, Any] = spec.params if spec is not None else {}
        # basis and severity: the entry's (when the plan gives them), else the rule's cited source and phrase
        basis = _basis_cell(entry.get("basis") or getattr(spec, "basis", None) or params.get("source")
                            or (spec.phrase if spec is not None else ""))
        severity = entry.get("severity") or getattr(spec, "severity", None) or ""
        title = readable.title(spec, lang) if spec is not None else ""
        for f in entry.get("findings", ()):
            rows.append({"section": "rules", "check": entry.get("id"), "check_title": title,
                         "layer": entry.get("layer"), "feature_id": f.get("feature_id"), "status": f.get("status"),
                         "severity": severity, "basis": basis, "value": f.get("value"), "limit": f.get("limit"),
                         "margin": f.get("margin"), "unit": f.get("unit"), "reason": f.get("reason", "")})
    return rows


def _coverage_rows(report: AuditReport, lang: str) -> list[dict[str, Any]]:
    """One record per uncovered site: its distance to the nearest facility against the service distance."""
    rows = []
    for entry in report.sections.get("coverage", ()):
        limit = entry.get("distance_m")
        by = labels.word("checks.by_road" if entry.get("mode") == "network" else "checks.straight", lang)
        for site in entry.get("uncovered", ()):
            distance = site.get("distance_m")
            share = site.get("share")
            reason = (f"{labels.word('checks.nearest', lang)} {entry.get('facilities')}: "
                      + (labels.word("checks.unreachable", lang) if distance is None else f"{distance:,.0f} m")
                      + f" ({by}); {labels.word('checks.covered_share', lang)} "
                      + ("—" if share is None else f"{share:.1f} %"))
            rows.append({"section": "coverage", "check": entry.get("id"),
                         "check_title": readable.title(entry, lang), "layer": entry.get("layer"),
                         "feature_id": site.get("id"), "status": "uncovered",
                         "severity": entry.get("severity", ""),
                         "basis": _basis_cell(entry.get("basis") or entry.get("phrase", "")),
                         "value": distance, "limit": limit,
                         "margin": None if distance is None or limit is None else float(limit) - float(distance),
                         "unit": "m", "reason": reason})
    return rows


def _datum_name(crs: pyproj.CRS) -> str:
    """The short name of a geographic CRS's datum for a column heading: WGS84, CGCS2000, or the CRS's name."""
    return {4326: "WGS84", 4490: "CGCS2000", 4610: "Xian 1980", 4214: "Beijing 1954"}.get(crs.to_epsg() or 0, crs.name)


def site_places(report: AuditReport, records: pd.DataFrame, lang: str = "zh"
                ) -> tuple[pd.DataFrame, str | None, pyproj.CRS | None]:
    """Name, district and a point inside each site of ``records`` (columns ``layer`` and ``feature_id``).

    Vectorised per layer: the sites' ``representative_point`` in the data's geographic CRS, and the district
    (``districts`` layer, its ``name``, or ``name_en`` in English) the point lies in. Sites the dataset does
    not have get empty text and NaN coordinates.

    Returns
    -------
    places, datum, crs
        ``name``, ``lon``, ``lat`` and ``district`` aligned to ``records``; the datum's short name for column
        headings (``"WGS84"``, ``"CGCS2000"``...) and the geographic CRS (None when no site was found).

    Examples
    --------
    >>> import pandas as pd
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> places, datum, _ = site_places(r, pd.DataFrame({"layer": ["clusters", "nowhere"],
    ...                                                 "feature_id": ["CL00001", "X"]}))
    >>> places["district"].tolist(), datum, round(float(places["lon"][0]), 2)
    (['镇海区', ''], 'WGS84', 121.66)
    """
    out = pd.DataFrame({"name": pd.Series([""] * len(records), dtype=object, index=records.index),
                        "lon": np.nan, "lat": np.nan})
    out["district"] = ""
    ds = report.dataset
    geographic: pyproj.CRS | None = None
    districts = ds.layers["districts"].gdf if "districts" in ds.layers else None
    district_name = "name_en" if lang == "en" and districts is not None and "name_en" in districts else "name"
    for layer_name, group in records.groupby("layer", sort=False):
        if layer_name not in ds.layers:
            continue
        gdf = ds.layers[str(layer_name)].gdf
        found = group["feature_id"].astype(str).isin(gdf.index.astype(str))
        ids = group.loc[found, "feature_id"].astype(str)
        if ids.empty:
            continue
        sites = gdf.set_axis(gdf.index.astype(str)).loc[ids.to_numpy()]
        if "name" in sites:
            out.loc[ids.index, "name"] = sites["name"].astype(object).where(sites["name"].notna(), "").to_numpy()
        crs = pyproj.CRS.from_user_input(sites.crs)
        geographic = geographic or (crs if crs.is_geographic else crs.geodetic_crs)
        points = gpd.GeoSeries(sites.geometry.representative_point().to_numpy(), crs=crs)
        lonlat = points.to_crs(geographic)
        out.loc[ids.index, "lon"] = lonlat.x.to_numpy()
        out.loc[ids.index, "lat"] = lonlat.y.to_numpy()
        if districts is not None and len(districts):
            inside = gpd.sjoin(gpd.GeoDataFrame(geometry=points.to_crs(districts.crs).to_numpy(), crs=districts.crs),
                               districts[[district_name, "geometry"]], how="left", predicate="within")
            inside = inside[~inside.index.duplicated()]  # a point on a shared border: the first district
            out.loc[ids.index, "district"] = inside[district_name].astype(object).where(
                inside[district_name].notna(), "").to_numpy()
    return out, (_datum_name(geographic) if geographic is not None else None), geographic


def check_table(report: AuditReport, *, lang: str = "zh", coords: Sequence[str] = ()) -> pd.DataFrame:
    """The per-site check table of an audit (or of one command's sections), with headings in ``lang``.

    Parameters
    ----------
    report
        The audit; its ``rules`` and ``coverage`` sections give the rows (others are ignored).
    lang
        ``"zh"`` (图斑核查表) or ``"en"`` for the headings, verdicts and section names.
    coords
        Extra coordinates: ``("gcj02",)`` adds GCJ-02 longitude and latitude (for Amap).

    Returns
    -------
    pandas.DataFrame
        One row per site and finding, rules first; the headings name the coordinates' datum. Numbers stay
        numbers (margin negative when the site fails; empty when it cannot be measured).

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> t = check_table(r, lang="en")
    >>> t.groupby("check type").size().to_dict()
    {'Coverage': 65, 'Siting rules': 30}
    """
    lang = labels.check_lang(lang)
    unknown = [c for c in coords if c not in COORDS]
    if unknown:
        msg = f"unknown coordinates {', '.join(map(repr, unknown))}; choose from {', '.join(COORDS)}"
        raise OutputError(msg, code="E-IO-FORMAT")
    records = pd.DataFrame(_rule_rows(report, lang) + _coverage_rows(report, lang),
                           columns=[*(c for c in _COLUMNS if c not in ("name", "verdict", "district")), "status"])
    places, datum, geographic = site_places(report, records, lang)
    table = records.assign(name=places["name"], district=places["district"])
    table["section"] = [labels.word(f"section.{s}", lang) for s in table["section"]]
    table["verdict"] = [labels.status_word(str(s), lang) for s in table["status"]]
    table["severity"] = [labels.word(f"severity.{s}", lang) if s else "" for s in table["severity"]]
    for key in ("value", "limit", "margin"):
        table[key] = pd.to_numeric(table[key], errors="coerce")
    table = table[list(_COLUMNS)].rename(columns={k: labels.word(f"checks.{k}", lang) for k in _COLUMNS})
    datum = datum or "WGS84"
    lon, lat = labels.word("checks.lon", lang), labels.word("checks.lat", lang)
    sep = "" if lang == "zh" else " "
    table[f"{lon}{sep}({datum})"] = places["lon"].to_numpy()
    table[f"{lat}{sep}({datum})"] = places["lat"].to_numpy()
    if "gcj02" in coords:
        x, y = places["lon"].to_numpy(), places["lat"].to_numpy()
        if geographic is not None and (geographic.to_epsg() or 0) != 4326:  # CGCS2000 and others: to WGS 84 first
            x, y = pyproj.Transformer.from_crs(geographic, 4326, always_xy=True).transform(x, y)
        gx, gy = wgs84_to_gcj02(x, y)
        table[f"{lon}{sep}(GCJ-02)"] = gx
        table[f"{lat}{sep}(GCJ-02)"] = gy
    return table.reset_index(drop=True)


def with_places(report: AuditReport, entries: Sequence[Mapping[str, Any]], *, lang: str = "zh"
                ) -> list[dict[str, Any]]:
    """Coverage entries whose uncovered sites also carry their name and district (for a page's tables).

    Examples
    --------
    >>> from nbgeo import audit, datasets, io, plan
    >>> r = audit.run_audit(io.read_sample(), plan.read_plan(datasets.get_path("ningbo_2025")))
    >>> list(with_places(r, r.sections["coverage"])[0]["uncovered"][0])
    ['id', 'name', 'district', 'distance_m', 'share', 'severity', 'basis']
    """
    sites = [(i, j, str(e.get("layer")), str(site.get("id"))) for i, e in enumerate(entries)
             for j, site in enumerate(e.get("uncovered") or ())]
    if not sites:
        return [dict(e) for e in entries]
    records = pd.DataFrame(sites, columns=["entry", "site", "layer", "feature_id"])
    places, _, _ = site_places(report, records, lang)
    out = [dict(e, uncovered=list(e.get("uncovered") or ())) for e in entries]
    for (i, j), name, district in zip(zip(records["entry"], records["site"], strict=True), places["name"],
                                       places["district"], strict=True):
        site = dict(out[i]["uncovered"][j])
        out[i]["uncovered"][j] = {"id": site.pop("id", None), "name": name, "district": district, **site}
    return out


def _width(values: pd.Series, heading: str) -> float:
    """A column width in Excel's character units: the longest of heading and a sample of cells, CJK counted twice."""
    sample = [heading, *("" if pd.isna(v) else str(v) for v in values.head(500))]
    longest = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) for text in sample)
    return float(min(max(longest + 2, 8), 60))


def to_xlsx(table: pd.DataFrame, *, lang: str = "zh") -> bytes:
    """The check table as an Excel workbook: one sheet, header row frozen, filters on, columns sized to fit.

    Text cells that a spreadsheet would read as a formula are written as text (``'=...``).

    Examples
    --------
    >>> import io, openpyxl, pandas as pd
    >>> data = to_xlsx(pd.DataFrame({"图斑编号": ["=1+1"], "差额": [-2.5]}))
    >>> ws = openpyxl.load_workbook(io.BytesIO(data)).active
    >>> ws.title, [c.value for c in ws[1]], ws["A2"].value, ws["A2"].data_type, ws.freeze_panes, ws.auto_filter.ref
    ('图斑核查表', ['图斑编号', '差额'], "'=1+1", 's', 'A2', 'A1:B2')
    """
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = labels.word("checks.sheet", labels.check_lang(lang))
    sheet.append([str(c) for c in table.columns])
    for row in table.itertuples(index=False, name=None):  # openpyxl takes rows one by one
        sheet.append([None if isinstance(v, float) and not np.isfinite(v) else
                      v.item() if isinstance(v, np.generic) else spreadsheet_cell(v) for v in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center")
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(table.columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{len(table) + 1}"
    for i, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = _width(table[column], str(column))
    for i, column in enumerate(table.columns, start=1):  # numbers with a fixed number of decimals
        if pd.api.types.is_float_dtype(table[column]):
            fmt = "0.000000" if str(column).startswith(("经度", "纬度", "longitude", "latitude")) else "#,##0.0"
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    r"""The check table as CSV in UTF-8 with a byte-order mark, formula-like text kept as text.

    Examples
    --------
    >>> import pandas as pd
    >>> to_csv_bytes(pd.DataFrame({"图斑编号": ["=1+1"]}))
    b"\xef\xbb\xbf\xe5\x9b\xbe\xe6\x96\x91\xe7\xbc\x96\xe5\x8f\xb7\r\n'=1+1\r\n"
    """
    return b"\xef\xbb\xbf" + to_csv(table, index=False).encode("utf-8")
