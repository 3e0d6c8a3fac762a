"""The browser's part of every map the app draws (one script, bound once per tab).

- Label halos: plotly.js does not expose MapLibre's text halo, so SPA names and values
  over dense school points were unreadable (Metro, South, East); the script gives every
  symbol layer a true halo, and lets labels overlap (MapLibre dropped colliding ones on a
  phone), checked on each tick since plotly.js adds layers after the style loads and again
  on a redraw.
- A slide's map takes its height from the screen, which the server does not know: the
  browser fits the county to the map's own canvas (MapLibre's fitBounds, padded clear of
  the colour bar) whenever that canvas changes size. The bounds travel in layout.meta.
"""

from __future__ import annotations

import streamlit as st

FIT_MAP_JS = """
<script>
(function () {
  const w = window.parent && window.parent.document ? window.parent : window;
  if (w.__csiFitMaps) { return; }
  w.__csiFitMaps = true;
  const halo = function (map) {
    // A true halo under every label (plotly.js does not expose MapLibre's text halo):
    // white under dark words, dark under white ones, so labels read over the points.
    // Checked on every tick, layer by layer: plotly.js adds a trace's layers after the style
    // loads and again on a redraw, so "done once" would miss the labels that came later.
    for (const layer of (map.getStyle().layers || [])) {
      if (layer.type !== "symbol" || !map.getLayer(layer.id)) { continue; }
      if (map.getPaintProperty(layer.id, "text-halo-width") === 3) { continue; }
      const ink = String(map.getPaintProperty(layer.id, "text-color") || "");
      const light = /^(white|#fff|#ffffff|rgb\(255, ?255, ?255)/i.test(ink);
      map.setPaintProperty(layer.id, "text-halo-color", light ? "#1f1f1f" : "#ffffff");
      map.setPaintProperty(layer.id, "text-halo-width", 3);
      // Every SPA named at any zoom: MapLibre drops a label that touches another (on a phone it
      // dropped Antelope Valley, Metro and East, each against its own halo's larger words).
      map.setLayoutProperty(layer.id, "text-allow-overlap", true);
      map.setLayoutProperty(layer.id, "text-ignore-placement", true);
    }
  };
  const fit = function (gd) {
    const sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
    const map = sub && sub.map;
    if (!map || !map.getStyle()) { return; }
    try { halo(map); } catch (e) { w.__csiMapError = String(e); /* style still loading: next tick */ }
    const b = gd.layout && gd.layout.meta && gd.layout.meta.fit_bounds;
    if (!b || !gd.closest(".st-key-slide_box")) { return; }
    const c = map.getCanvas();
    const box = el => el ? el.getBoundingClientRect().width : 0;
    const left = box(gd.querySelector(".legend")) + 24, right = box(gd.querySelector(".colorbar")) + 24;
    const size = c.clientWidth + "x" + c.clientHeight + ":" + left + ":" + right + ":" + b.join(",");
    // A redraw (new _fullData) puts the server's zoom back: fit again then, too.
    if ((gd.__csiFitted === size && gd.__csiFitData === gd._fullData) || !c.clientWidth || !c.clientHeight) {
      return;
    }
    gd.__csiFitted = size;
    gd.__csiFitData = gd._fullData;
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], {padding: {top: 16, bottom: 16, left: left, right: right},
                                                   animate: false});
  };
  w.setInterval(function () {
    // A tick count and the last error a map gave, for a test that finds no halo to say why.
    w.__csiMapTicks = (w.__csiMapTicks || 0) + 1;
    for (const gd of w.document.querySelectorAll(".js-plotly-plot")) {
      try { fit(gd); } catch (e) { w.__csiMapError = String(e); /* one map's trouble never stops the others */ }
    }
  }, 400);
})();
</script>
"""


def inject() -> None:
    """The script, on this page (the browser binds it once per tab, however often it is sent)."""
    st.html(FIT_MAP_JS, unsafe_allow_javascript=True)
