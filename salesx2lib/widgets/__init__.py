"""Widgets: ipywidgets explorers over the analyses, one submodule per notebook topic.

Each explorer is built from library calls only (the analyses compute, the chart
functions draw); the function behind its controls is pure and returns its result, so
it can be tested and shown without a browser. Nothing is imported from here at package
import time: ``from salesx2lib.widgets import competency``.

Under papermill no front end draws a widget, so a notebook displays an explorer and then
its ``result`` as a static view. An explorer that draws into an ``ipywidgets.Output``
can stall a papermill run: nbclient echoes Output contents back to the kernel on the
shell channel and then, now and then, misses the cell's reply (see
:mod:`salesx2lib.widgets.competency`, which draws into an ``ipywidgets.HTML`` instead).
"""

__all__: list[str] = []
