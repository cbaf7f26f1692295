"""What an Altair chart really draws, for the chart tests (tests/test_charts_*.py).

:func:`drawn` renders a chart with vl-convert (Vega, offline) to its scenegraph and
returns, per mark of the spec, its mark type, how many instances Vega made of it (one
per line series or facet cell) and how many items it drew in all: the data rows left
after the spec's own transforms (filters, folds, aggregates) and Vega-Lite's dropping of
invalid values. Axes, legends and titles are left out (:func:`axis_labels` reads the axes'
tick labels). :func:`encoding` reads a layer's channels from the spec as ``(field, type)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import vl_convert

__all__ = ["Drawn", "axis_labels", "drawn", "encoding", "layers", "mark"]


@dataclass(frozen=True)
class Drawn:
    """One mark of the spec as drawn."""

    marktype: str
    instances: int
    items: int


def drawn(chart: Any) -> dict[str, Drawn]:
    """Mark name (``layer_0_marks``, ``marks``, ...) -> what Vega drew for it."""
    scene = vl_convert.vegalite_to_scenegraph(chart.to_dict())["scenegraph"]
    found: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}

    def walk(node: dict[str, Any]) -> None:
        if node.get("role") == "mark" and node.get("name"):
            found.setdefault(node["name"], []).append(len(node.get("items", [])))
            kinds[node["name"]] = node["marktype"]
        for item in node.get("items", []) or []:
            if isinstance(item, dict):
                walk(item)

    walk(scene)
    return {name: Drawn(kinds[name], len(counts), sum(counts)) for name, counts in found.items()}


def axis_labels(chart: Any) -> list[list[str]]:
    """The tick labels of every axis drawn, axis by axis, in drawing order."""
    scene = vl_convert.vegalite_to_scenegraph(chart.to_dict())["scenegraph"]
    found: list[list[str]] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("role") == "axis-label":
            found.append([str(item.get("text")) for item in node.get("items", [])])
        for item in node.get("items", []) or []:
            if isinstance(item, dict):
                walk(item)

    walk(scene)
    return found


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit specs of a Vega-Lite spec, depth first (layers, facets' specs, concats)."""
    if "mark" in spec:
        return [spec]
    out: list[dict[str, Any]] = []
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for sub in spec.get(key, []):
            out += layers(sub)
    if "spec" in spec:
        out += layers(spec["spec"])
    return out


def mark(unit: dict[str, Any]) -> str:
    """A unit spec's mark type."""
    m = unit["mark"]
    return m if isinstance(m, str) else m["type"]


def encoding(unit: dict[str, Any], *channels: str) -> dict[str, tuple[str | None, str | None]]:
    """``channel -> (field, type)`` of a unit spec (``field`` None for a constant or an aggregate count)."""
    enc = unit.get("encoding", {})
    out = {}
    for ch in channels:
        e = enc.get(ch)
        if e is None:
            out[ch] = (None, None)
        elif "condition" in e and "field" not in e:
            out[ch] = (None, "condition")
        else:
            out[ch] = (e.get("field") or (e.get("aggregate") if isinstance(e.get("aggregate"), str) else None), e.get("type"))
    return out
