"""What an audit map puts first: the sites it found, words for its overlays, counts per cell for dense layers.

Three things a city-wide map needs so that a planner sees the problems before the data:

- :func:`focus_sites`: every failing site (a siting rule), uncovered site (a coverage requirement) and
  proposed new site (a siting question) of an audit, one entry per site and verdict, with its id, its
  name in the data (the ``name`` column of the layer that holds the id), the reasons and where it is.
  The runtime draws them above every layer, large and labelled, and lists them beside the map;
- :func:`overlay_title`: the legend's words for an overlay (the rule's or requirement's title, or one
  made from the layer's name and the kind of rule), not its id;
- :func:`severity_mark`: how binding a finding is (禁止 / 限制 / 建议) and what it rests on, as the badge the
  sites list, the popups and the legend show (a suggestion, 建议, is an outlined badge apart from the law);
- :func:`grid_levels`: counts of points per grid cell at a few zoom levels, so a layer of a million
  points costs its occupied cells, not its points.

Examples
--------
>>> import numpy as np
>>> from nbgeo.renderers.mapcodec import unvarint
>>> levels = grid_levels(np.array([[121.5, 29.8], [121.5001, 29.8001], [122.0, 30.0]]), zooms=(9,))
>>> levels[0]["z"], sorted(unvarint(levels[0]["n"]))
(9, [1, 2])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from ..plan import SEVERITIES
from . import labels, readable, theme
from .html import safe_text
from .mapcodec import varint

if TYPE_CHECKING:
    import geopandas as gpd

    from ..audit import AuditReport
    from ..layers import Dataset

__all__ = ["FOCUS_STATUSES", "focus_sites", "grid_levels", "overlay_title", "severity_mark", "worded_coverage",
           "worded_findings"]

#: The verdicts a map puts first, most pressing first.
FOCUS_STATUSES = ("fail", "uncovered", "proposed")

#: Most sites of one group (severity and verdict) shipped in a page, listed and drawn large (the rest are
#: counted, and are in their overlay layers and in audit.json): a page has at most 12 groups.
FOCUS_LIMIT = 100

#: Sites of a group the list beside the map shows before its "N more" expander.
LIST_PAGE = 8

#: A grid cell is about this many screen pixels wide at the zoom it is drawn at.
CELL_PX = 44.0


def _word(key: str, lang: str) -> str:
    return labels.word(key, lang)


def severity_mark(severity: Any, basis: Any, lang: str) -> dict[str, Any]:
    """A finding's severity badge and basis for the map, every text escaped.

    ``text`` is the severity in words (``severity.*`` of :mod:`nbgeo.renderers.labels`), ``colour`` its
    colour (:data:`nbgeo.renderers.theme.SEVERITY_COLOURS`), ``advisory`` whether it is a suggestion (建议,
    drawn as an outlined badge apart from the law's), ``basis`` the instrument and article (``—`` if none).

    Examples
    --------
    >>> severity_mark("禁止", "《土地管理法》 第三十五条", "en")
    {'severity': '禁止', 'text': 'prohibited', 'colour': '#82071e', 'advisory': False, 'basis': '《土地管理法》 第三十五条'}
    >>> severity_mark("建议", "", "zh")["advisory"], severity_mark(None, "<b>", "zh")["basis"]
    (True, '&lt;b&gt;')
    """
    key = f"severity.{severity}"
    text = labels.word(key, lang) if key in labels.LABELS else ("—" if severity is None else str(severity))
    return {"severity": safe_text("" if severity is None else str(severity)), "text": safe_text(text),
            "colour": safe_text(theme.severity_colour(str(severity))), "advisory": severity == "建议",
            "basis": safe_text(str(basis) if basis else "—")}


def _most_binding(values: pd.Series) -> Any:
    """The most binding of a site's severities (禁止 before 限制 before 建议), for one entry of several rules."""
    known = [v for v in SEVERITIES if v in set(values)]
    return known[0] if known else (values.iloc[0] if len(values) else None)


def _where_words(where: Any, lang: str) -> str:
    """The values of an ``against_where`` filter in words (``{kind = "water"}`` → ``水域``)."""
    if not isinstance(where, Mapping):
        return ""
    scalars = [[v for v in (x if isinstance(x, (list, tuple)) else [x]) if isinstance(v, (str, int, float))]
               for x in where.values()]
    return ("、" if lang == "zh" else ", ").join(labels.value_words(v, lang) for v in scalars if v)


def overlay_title(title: str, gdf: gpd.GeoDataFrame, report: AuditReport | None, lang: str) -> str:
    """Words for an overlay's legend entry: what was checked and what was found, never an id alone.

    A rule's overlay (a ``rule`` column) is named by the rule's title in English, or in Chinese from
    the layer and the kind of rule (``小微企业园不得占用生态保护红线``), then the count of failing sites;
    a siting question's layers by the question (its title, or its layers); a coverage overlay
    (``attrs["nbgeo_coverage"]``) by its requirement; any other keeps its title.

    Examples
    --------
    >>> import geopandas as gpd
    >>> overlay_title("Proposed", gpd.GeoDataFrame(geometry=[]), None, "zh")
    'Proposed'
    """
    plan = report.plan if report is not None else None
    if plan is None or gdf is None:
        return title
    if "rule" in gdf.columns and len(gdf):
        rule = next((r for r in plan.rules if r.id == str(gdf["rule"].iloc[0])), None)
        if rule is None:
            return title
        p = rule.params
        against = _where_words(p.get("against_where"), lang) or (
            readable.words(str(p["against"]), lang) if p.get("against") else "")
        what = rule.title if lang == "en" and rule.title else _word(
            f"map.rule_{rule.kind}" if f"map.rule_{rule.kind}" in labels.LABELS else "map.rule_other", lang
        ).format(layer=readable.words(rule.layer, lang), against=against)
        sites = "role" not in gdf.columns or gdf["role"].eq("site")
        failed = int((gdf["status"].astype(str).eq("fail") & sites).sum()) if "status" in gdf.columns else 0
        return f"{what} · {_word('map.n_fail', lang).format(n=f'{failed:,}')}"
    for q in plan.siting:  # a siting question's layers: "<question id>: 35 proposed sites" -> its words
        for sep in ("：", ": "):
            if title.startswith(q.id + sep):
                return _siting_words(q, plan, lang) + sep + title[len(q.id) + len(sep):]
    cov_id = gdf.attrs.get("nbgeo_coverage")
    spec = next((c for c in plan.coverage if c.id == cov_id), None) if cov_id else None
    if spec is None:
        return title
    words = {"demand": readable.words(spec.demand, lang), "facilities": readable.words(spec.facilities, lang),
             "distance": _distance(float(spec.params.get("distance", 0) or 0), lang)}
    if "status" in gdf.columns and gdf["status"].astype(str).eq("uncovered").all():
        return _word("map.cov_uncovered", lang).format(**words, n=f"{len(gdf):,}")
    if lang == "en" and spec.title:
        return f"{spec.title}: {_word('map.cov_area_short', lang)}"
    return _word("map.cov_area", lang).format(**words)


def _siting_words(question: Any, plan: Any, lang: str) -> str:
    """A siting question in words: its title in English, else ``new {facilities} sites for {demand}``."""
    if lang == "en" and question.title:
        return str(question.title)
    p = dict(question.params)
    cov = next((c for c in plan.coverage if c.id == p.get("coverage")), None)
    demand = p.get("demand") or (cov.demand if cov else "")
    facilities = p.get("facilities") or (cov.facilities if cov else "")
    return _word("map.siting", lang).format(facilities=readable.words(str(facilities), lang),
                                            demand=readable.words(str(demand), lang))


def _distance(metres: float, lang: str) -> str:
    """``1000`` → ``1 km`` / ``1 公里``; ``500`` → ``500 m`` / ``500 米``."""
    if metres >= 1000:
        return f"{metres / 1000:g} 公里" if lang == "zh" else f"{metres / 1000:g} km"
    return f"{metres:g} 米" if lang == "zh" else f"{metres:g} m"


def _names(dataset: Dataset, ids: pd.Series) -> pd.Series:
    """The ``name`` of each id in the dataset layer that holds it ('' when none does)."""
    names = pd.Series("", index=ids.index, dtype=object)
    todo = np.ones(len(ids), dtype=bool)
    for name in dataset.names:
        gdf = dataset[name]
        if "name" not in gdf.columns or not todo.any():
            continue
        index = gdf.index.astype(str)
        hit = todo & ids.isin(index).to_numpy()
        if hit.any():
            lookup = pd.Series(gdf["name"].to_numpy(), index=index)
            lookup = lookup[~lookup.index.duplicated()]
            names[hit] = lookup.reindex(ids[hit]).fillna("").astype(str).to_numpy()
            todo &= ~hit
    return names


def _source_titles(key: str, gdf: gpd.GeoDataFrame, titles: Mapping[str, str], lang: str) -> pd.Series | str:
    """What each site of an overlay was checked against: the rule's, requirement's or question's title."""
    if "rule" in gdf.columns:
        return gdf["rule"].astype(str).map(lambda r: titles.get(r) or readable.words(r, lang))
    cov_id = gdf.attrs.get("nbgeo_coverage")
    if cov_id:
        return titles.get(str(cov_id)) or readable.words(str(cov_id), lang)
    for sep in ("：", ": "):  # a siting question's layers are keyed "<question id>: ..."
        head = key.split(sep, 1)[0]
        if sep in key and head in titles:
            return titles[head]
    return key


def _join(values: pd.Series) -> str:
    return "; ".join(dict.fromkeys(v for v in values if v and v != "—"))


def focus_sites(overlays: Mapping[str, gpd.GeoDataFrame], dataset: Dataset, lang: str,
                shift: Callable[[np.ndarray], np.ndarray] | None = None, *, limit: int = FOCUS_LIMIT,
                report: AuditReport | None = None) -> dict[str, Any] | None:
    """The failing, uncovered and proposed sites of an audit, for the map's top layer and the list beside it.

    One entry per site and verdict (a site failing two rules is one entry with both reasons and titles),
    grouped by severity (禁止, 限制, 建议, then none) and in each by verdict (failing, uncovered, proposed),
    each group in the order the audit found its sites. Every group counts all its sites but ships at most
    ``limit`` of them (the rest are in the result layers and audit.json), so the page stays bounded however
    many sites fail: at most ``limit`` times the number of groups (4 severities × 3 verdicts). Every text is
    escaped; coordinates are WGS 84 (or GCJ-02 with ``shift``), 6 decimals.

    Returns
    -------
    dict or None
        ``{"items": [{"id", "name", "status", "statusText", "title", "reason", "sev", "ll", "box", "g"}],
        "groups": [{"sev", "status", "statusText", "count", "shown", "countText", "moreText"}], "more", ...}``
        (``sev``: :func:`severity_mark`, the most binding severity of the site's findings and their bases;
        ``g``: the item's group; a group's ``moreText`` says how many of its sites are not shipped);
        None when the audit found nothing to show.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from nbgeo.layers import Dataset
    >>> found = gpd.GeoDataFrame({"status": ["fail"] * 3, "severity": ["禁止", "建议", "禁止"], "label": "x"},
    ...     geometry=shapely.points([[121.5, 29.8]] * 3), crs=4326, index=["a", "b", "c"])
    >>> sites = focus_sites({"t": found}, Dataset.from_gdfs({"t": found}), "en", limit=1)
    >>> [(g["countText"], g["shown"]) for g in sites["groups"]], [it["id"] for it in sites["items"]], sites["more"]
    ([('2', 1), ('1', 1)], ['a', 'b'], 1)
    """
    titles = readable.plan_titles(report.plan, lang) if report is not None and report.plan is not None else {}
    frames = []
    for key, given in overlays.items():
        if given is None or given.empty or "status" not in given.columns:
            continue
        gdf = given.to_crs(4326) if given.crs is not None and not given.crs.equals("EPSG:4326") else given
        status = gdf["status"].astype(str)
        keep = status.isin(FOCUS_STATUSES).to_numpy().copy()
        if "role" in gdf.columns:
            keep &= gdf["role"].astype(str).eq("site").to_numpy()
        keep &= ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
        if not keep.any():
            continue
        sub = gdf[keep]
        geoms = np.asarray(sub.geometry.values)
        where = shapely.get_coordinates(shapely.point_on_surface(geoms))
        box = shapely.bounds(geoms)
        ids = sub["feature_id"].astype(str) if "feature_id" in sub.columns else pd.Series(
            sub.index.astype(str), index=sub.index)
        if "feature_id" not in sub.columns and isinstance(gdf.index, pd.RangeIndex) and "label" in sub.columns:
            # new sites have no id in the data: their label starts with the candidate's ("N1086: #1, ...")
            named = sub["label"].astype(str).str.extract(r"^([^:：\s]{1,40})[:：]", expand=False)
            ids = named.fillna(pd.Series([f"#{k + 1}" for k in range(len(sub))], index=sub.index))
        source = _source_titles(str(key), sub, titles, lang)
        frames.append(pd.DataFrame({
            "id": ids.to_numpy(), "status": status[keep].to_numpy(),
            "title": source.to_numpy() if isinstance(source, pd.Series) else source,
            "reason": sub["label"].astype(str).to_numpy() if "label" in sub.columns else "",
            "severity": sub["severity"].astype(object).to_numpy() if "severity" in sub.columns else None,
            "basis": sub["basis"].fillna("").astype(str).to_numpy() if "basis" in sub.columns else "",
            "x": where[:, 0], "y": where[:, 1], "x0": box[:, 0], "y0": box[:, 1], "x1": box[:, 2], "y1": box[:, 3]}))
    if not frames:
        return None
    found = pd.concat(frames, ignore_index=True)
    rank = {s: i for i, s in enumerate(FOCUS_STATUSES)}
    found["rank"] = found["status"].map(rank)
    found["pos"] = np.arange(len(found))  # in the order the audit found them (rule by rule; new sites by rank)
    grouped = found.groupby(["rank", "id", "status"], sort=False)
    sites = grouped.agg(pos=("pos", "min"), x=("x", "first"), y=("y", "first"), x0=("x0", "min"), y0=("y0", "min"),
                        x1=("x1", "max"), y1=("y1", "max"), reason=("reason", _join), title=("title", _join),
                        severity=("severity", _most_binding), basis=("basis", _join)).reset_index()
    # groups: severity (the law's first, none last), then verdict; in each, the audit's order
    sev_rank = {s: i for i, s in enumerate(SEVERITIES)}
    sites["srank"] = sites["severity"].map(lambda v: sev_rank.get(v, len(sev_rank)))
    sites = sites.sort_values(["srank", "rank", "pos"], kind="stable").reset_index(drop=True)
    sites["g"] = sites.groupby(["srank", "rank"], sort=False).ngroup()
    sites["k"] = sites.groupby("g").cumcount()
    sizes = sites.groupby("g", sort=True).size()
    more = int((sizes - sizes.clip(upper=limit)).sum())
    sites = sites[sites["k"] < limit].reset_index(drop=True)
    if shift is not None and len(sites):
        for a, b in (("x", "y"), ("x0", "y0"), ("x1", "y1")):
            sites[[a, b]] = shift(sites[[a, b]].to_numpy(dtype=float))
    sites["name"] = _names(dataset, sites["id"])
    coords = sites[["y", "x", "y0", "x0", "y1", "x1"]].to_numpy(dtype=float).round(6)
    counts = found.drop_duplicates(["id", "status"])["status"].value_counts()
    summary = " · ".join(f"{int(counts[s]):,} {labels.status_word(s, lang)}" for s in FOCUS_STATUSES if s in counts)
    items = [{"id": safe_text(i), "name": safe_text(n), "status": s, "statusText": safe_text(labels.status_word(s, lang)),
              "title": safe_text(t), "reason": safe_text(r), "sev": severity_mark(v, b, lang), "ll": [c[0], c[1]],
              "box": [[c[2], c[3]], [c[4], c[5]]], "g": int(g)}
             for i, n, s, t, r, v, b, c, g in zip(sites["id"], sites["name"], sites["status"], sites["title"],
                                                  sites["reason"], sites["severity"], sites["basis"], coords.tolist(),
                                                  sites["g"], strict=True)]
    heads = sites.drop_duplicates("g").set_index("g")
    groups = []
    for g, size in sizes.items():
        shown = min(int(size), limit)
        status = str(heads.loc[g, "status"])
        groups.append({"sev": severity_mark(heads.loc[g, "severity"], "", lang), "status": status,
                       "statusText": safe_text(_word(f"map.sites_{status}", lang)), "count": int(size),
                       "shown": shown, "countText": safe_text(f"{int(size):,}"),
                       "expandText": safe_text(_word("map.sites_expand", lang).format(n=f"{shown - LIST_PAGE:,}"))
                       if shown > LIST_PAGE else "",
                       "moreText": safe_text(_word("map.sites_more", lang).format(n=f"{int(size) - shown:,}"))
                       if size > shown else ""})
    return {"title": safe_text(_word("map.sites", lang)), "summary": safe_text(summary), "items": items,
            "groups": groups, "page": LIST_PAGE,
            "more": more, "moreText": safe_text(_word("map.sites_more", lang).format(n=f"{more:,}")) if more else "",
            "hint": safe_text(_word("map.sites_hint", lang))}


def _cell_degrees(zoom: int) -> float:
    """The side of a grid cell, in degrees, that is about :data:`CELL_PX` pixels wide at ``zoom``."""
    return CELL_PX * 360.0 / (256.0 * 2.0**zoom)


def grid_levels(coords: np.ndarray, *, zooms: tuple[int, ...] = tuple(range(7, 16)),
                max_cells: int = 20_000) -> list[dict[str, Any]]:
    """Counts of points per grid cell, one level per zoom, as varint strings (see map.js ``drawCells``).

    A level's cells are squares of :func:`_cell_degrees` on a grid anchored at (0°, 0°); each
    occupied cell is its column and row (delta-encoded, sorted) and its count. Levels with more than
    ``max_cells`` occupied cells are left out (the finest level kept is drawn at every zoom beyond).
    Vectorised: one ``np.unique`` of packed cell keys per level.

    Examples
    --------
    >>> pts = np.array([[121.5, 29.8], [121.5004, 29.8004], [121.56, 29.86]])
    >>> [(lv["z"], lv["cells"]) for lv in grid_levels(pts, zooms=(6, 9, 18))]
    [(6, 1), (9, 2), (18, 3)]
    >>> grid_levels(pts, zooms=(6, 18), max_cells=2)[-1]["z"]
    6
    """
    xy = np.asarray(coords, dtype=float).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    levels: list[dict[str, Any]] = []
    for z in zooms:
        cell = _cell_degrees(z)
        ij = np.floor(xy / cell).astype(np.int64)
        # one int64 per cell (column in the high bits): a 1-d unique, several times faster than axis=0
        packed, counts = np.unique((ij[:, 0] << 32) + (ij[:, 1] + (1 << 31)), return_counts=True)
        if len(packed) > max_cells:
            break
        keys = np.column_stack([packed >> 32, (packed & 0xFFFFFFFF) - (1 << 31)])
        d = np.diff(keys, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
        levels.append({"z": int(z), "cell": cell, "cells": len(keys), "x": varint(d[:, 0]), "y": varint(d[:, 1]),
                       "n": varint(counts), "max": int(counts.max()) if len(counts) else 0})
    return levels


def worded_findings(overlays: Mapping[str, gpd.GeoDataFrame], report: AuditReport | None, lang: str
                    ) -> dict[str, gpd.GeoDataFrame]:
    """The overlays with each rule finding's ``label`` in the reader's words.

    The label names the rule by its title, then the site, then the reason from its ``reason_key`` and
    ``reason_values`` (:func:`nbgeo.renderers.readable.reason`).

    ``nbgeo.rules`` labels an offending shape in English with the rule's id (for ``findings.gpkg``); the map's
    sites list, popups and tooltips show this label. Overlays that are not rule findings are returned as given.

    Examples
    --------
    >>> import geopandas as gpd
    >>> worded_findings({"x": gpd.GeoDataFrame(geometry=[])}, None, "zh")["x"].empty
    True
    """
    if report is None or not report.sections.get("rules"):
        return dict(overlays)
    titles = readable.plan_titles(report.plan, lang)
    reasons = {(str(e.get("id")), str(f.get("feature_id"))): readable.reason(str(f["reason_key"]),
                                                                            f.get("reason_values") or {}, lang)
               for e in report.sections["rules"] for f in e.get("findings", ()) if f.get("reason_key")}
    template = _word("map.finding", lang)
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in overlays.items():
        if gdf is None or gdf.empty or not {"rule", "feature_id", "label"} <= set(gdf.columns):
            out[name] = gdf
            continue
        worded = [template.format(rule=titles.get(r) or readable.words(r, lang), site=fid, reason=reasons[(r, fid)])
                  if (r, fid) in reasons else old
                  for r, fid, old in zip(gdf["rule"].astype(str), gdf["feature_id"].astype(str),
                                         gdf["label"].astype(str), strict=True)]
        out[name] = gdf.assign(label=worded)
    return out


def worded_coverage(overlays: Mapping[str, gpd.GeoDataFrame], lang: str) -> dict[str, gpd.GeoDataFrame]:
    """The overlays with each coverage shape's ``label`` in the reader's words, layers by their titles.

    ``nbgeo.coverage`` labels its service areas and uncovered sites in English with the layer's key (for
    ``findings.gpkg``) and keeps what the label says in ``attrs["nbgeo_coverage_words"]``; the map's sites
    list, popups and tooltips show this label. Other overlays are returned as given.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> g = gpd.GeoDataFrame({"label": ["x"]}, geometry=[Point(0, 0)], index=["SR1"])
    >>> g.attrs["nbgeo_coverage_words"] = {"facilities": "base_stations_5g", "distance": 500.0, "mode": "straight",
    ...     "illustrative_roads": False, "part": "length", "split": True, "sites": {"SR1": [float("nan"), 0.0]}}
    >>> worded_coverage({"u": g}, "en")["u"]["label"].iloc[0]
    'SR1: 0 % of its length within 500 m straight-line of a 5G base stations feature'
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in overlays.items():
        words = gdf.attrs.get("nbgeo_coverage_words") if gdf is not None else None
        if not words or gdf.empty or "label" not in gdf.columns:
            out[name] = gdf
            continue
        how = _word("map.how_network" if words["mode"] == "network" else "map.how_straight", lang)
        common = {"facilities": readable.words(str(words["facilities"]), lang), "how": how,
                  "distance": _distance(float(words["distance"]), lang)}
        if not words["sites"]:  # a service area
            flag = _word("map.roads_ill", lang) if words["illustrative_roads"] else ""
            out[name] = gdf.assign(label=_word("map.cov_within", lang).format(**common, flag=flag))
            continue
        part = str(words["part"])
        part = _word(f"map.part_{part}", lang) if f"map.part_{part}" in labels.LABELS else readable.words(part, lang)
        worded = []
        for site, old in zip(gdf.index.astype(str), gdf["label"].astype(str), strict=True):
            if site not in words["sites"]:
                worded.append(old)
                continue
            dist, share = words["sites"][site]
            if words["split"]:
                worded.append(_word("map.cov_share", lang).format(**common, site=site, share=f"{share:.0f}",
                                                                  part=part))
            elif np.isfinite(dist):
                worded.append(_word("map.cov_nearest", lang).format(**common, site=site,
                                                                    dist=_distance(round(dist), lang)))
            else:
                worded.append(_word("map.cov_none", lang).format(
                    **{**common, "distance": _distance(4 * float(words["distance"]), lang)}, site=site))
        out[name] = gdf.assign(label=worded)
    return out
