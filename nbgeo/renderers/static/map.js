/* nbgeo map runtime: draws the layers, legend, panels and tooltips of an nbgeo map from one JSON spec.
 *
 * Contract with nbgeo/maps.py (the only producer of specs):
 * - every text in a spec is already escaped by nbgeo.html.safe_text, so it is inserted with innerHTML
 *   into nbgeo's own fixed templates and shows the original characters, never markup;
 * - colours are validated "#rrggbb" strings; numbers are numbers;
 * - coordinates are integers (degrees x spec.scale), delta-encoded (see decode*).
 * Nothing here loads anything from the network. Public: nbgeo.attach(map, spec), nbgeo.mount(id, spec),
 * nbgeo.instances (introspection for tests: layers, popupHtml(i), openPopup(i)).
 */
(function (root) {
  "use strict";
  var L = root.L;
  var nbgeo = root.nbgeo = root.nbgeo || {};
  nbgeo.instances = nbgeo.instances || [];

  function el(tag, cls, html) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (html !== undefined) { e.innerHTML = html; }  // html: escaped text or nbgeo's own markup
    return e;
  }

  /* ---------- decoding ---------- */

  // Integer arrays arrive as strings (maps.py _varint): zig-zag values, 5 bits per character,
  // bit 6 set on every character but a value's last. Plain arrays are accepted too.
  var ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", LUT = new Int8Array(128);
  for (var a = 0; a < 64; a++) { LUT[ALPHA.charCodeAt(a)] = a; }
  function ints(s) {
    if (typeof s !== "string") { return s; }
    var out = [], v = 0, mul = 1;
    for (var i = 0; i < s.length; i++) {
      var d = LUT[s.charCodeAt(i)];
      v += (d & 31) * mul;
      if (d & 32) { mul *= 32; } else { out.push(v % 2 ? -(v + 1) / 2 : v / 2); v = 0; mul = 1; }
    }
    return out;
  }

  function decodeIds(ids, n) {
    if (Array.isArray(ids)) { return ids; }
    if (!ids) { var seq = []; for (var k = 0; k < n; k++) { seq.push(String(k)); } return seq; }
    var out = [], pad = ids.w;
    ids.r.forEach(function (run) {
      for (var i = 0; i < run[1]; i++) {
        var s = String(run[0] + i);
        while (s.length < pad) { s = "0" + s; }
        out.push(ids.p + s);
      }
    });
    return out;
  }

  function propValue(layer, key, i) {
    var p = layer.props[key];
    if (!p) { return ""; }
    if (p.d) { var c = p.c[i]; return c < 0 || c === undefined ? "" : p.d[c]; }
    // templates with a hole for the feature's id (mapspec.templated): split and join, no replace() patterns
    if (p.t) { var k = p.c[i]; return k === undefined ? "" : p.t[k].split("\ue000").join(p.x[i]); }
    return p.v[i];
  }

  // Points: x and y are delta-encoded integer arrays.
  function decodePoints(g, scale) {
    var dx = ints(g.x), dy = ints(g.y), n = dx.length, lon = new Float64Array(n), lat = new Float64Array(n);
    var x = g.o[0], y = g.o[1];
    for (var i = 0; i < n; i++) { x += dx[i]; y += dy[i]; lon[i] = x / scale; lat[i] = y / scale; }
    return { lon: lon, lat: lat };
  }

  // Counts per grid cell (mapsites.grid_levels): sorted cell columns and rows, delta-encoded, and counts.
  function decodeCells(lv) {
    var dx = ints(lv.x), dy = ints(lv.y), n = ints(lv.n), count = n.length;
    var lon = new Float64Array(count), lat = new Float64Array(count), x = 0, y = 0;
    for (var j = 0; j < count; j++) {
      x += dx[j]; y += dy[j];
      lon[j] = (x + 0.5) * lv.cell; lat[j] = (y + 0.5) * lv.cell;
    }
    return { z: lv.z, cell: lv.cell, count: count, n: n, lon: lon, lat: lat, max: lv.max };
  }

  // Lines and polygons: one delta-encoded [dx, dy, ...] array; counts say how it splits into
  // features (parts per feature), parts (rings per part, polygons only) and rings (vertices per ring).
  function decodeShapes(g, scale, polygon) {
    var c = ints(g.c), v = ints(g.v), per = ints(g.p), rings = polygon ? ints(g.r) : null;
    var x = g.o[0], y = g.o[1], k = 0, r = 0, q = 0, out = [];
    function ring() {
      var n = v[r++], pts = new Array(n);
      for (var i = 0; i < n; i++) { x += c[k++]; y += c[k++]; pts[i] = [y / scale, x / scale]; }
      return pts;
    }
    for (var f = 0; f < per.length; f++) {
      var parts = [];
      for (var p = 0; p < per[f]; p++) {
        if (polygon) {
          var part = [];
          for (var h = 0; h < rings[q]; h++) { part.push(ring()); }
          q++;
          parts.push(part);
        } else {
          parts.push(ring());
        }
      }
      out.push(parts);
    }
    return out;
  }

  /* ---------- templates (the only places data text reaches the DOM) ---------- */

  // A finding's severity (mapsites.severity_mark, every text escaped there): the law's and the plan's
  // (禁止, 限制) filled, a suggestion (建议) outlined and marked apart.
  function sevBadge(m) {
    if (!m) { return ""; }
    return "<span class='nb-sev" + (m.advisory ? " nb-sev-adv" : "") + "' style='--nb-sev:" + m.colour + "'>" +
      m.text + "</span>";
  }

  function fieldsTable(layer, i, keys) {
    var rows = "";
    keys.forEach(function (f) {
      var v = propValue(layer, f[0], i);
      if (f[0] === layer.sevSlot && layer.sevMarks && layer.sevMarks[v]) { v = sevBadge(layer.sevMarks[v]); }
      if (v !== "" && v !== undefined && v !== null) { rows += "<tr><th>" + f[1] + "</th><td>" + v + "</td></tr>"; }
    });
    return rows ? "<table>" + rows + "</table>" : "";
  }

  function featureName(layer, i) {
    var name = layer.nameField ? propValue(layer, layer.nameField, i) : "";
    return name || layer._ids[i];
  }

  function tooltipHtml(layer, i) {
    var head = "<div class='nb-tip-h'>" + featureName(layer, i) + "</div>";
    var sub = "<div class='nb-tip-l'>" + layer.title + "</div>";
    return head + sub + fieldsTable(layer, i, layer.tipFields);
  }

  function popupHtml(layer, i) {
    var badge = layer.illustrative ? "<span class='nb-badge'>" + layer.badge + "</span>" : "";
    return "<div class='nb-pop'><div class='nb-pop-l'>" + layer.title + " " + badge + " " + sevBadge(layer.sev) + "</div>" +
      "<div class='nb-pop-h'>" + featureName(layer, i) + "</div>" +
      (featureName(layer, i) !== layer._ids[i] ? "<div class='nb-pop-id'>" + layer.idLabel + " " + layer._ids[i] + "</div>" : "") +
      fieldsTable(layer, i, layer.fields) + "</div>";
  }

  /* ---------- hover and click: one tooltip, points take priority over shapes below them ---------- */

  function Hub(map) {
    this.map = map;
    this.tip = L.tooltip({ direction: "top", offset: [0, -6], className: "nb-tip", opacity: 1 });
    this.vector = null;      // {layer, i} under the mouse (set by Leaflet's canvas hit-testing)
    this.clicked = null;     // {layer, i, latlng} clicked in this event
    this.mouse = null;
    this.pointLayers = [];
    this.frame = 0;
    var hub = this;
    map.on("mousemove", function (e) { hub.mouse = e; hub.schedule(); });
    map.on("mouseout", function () { hub.mouse = null; hub.vector = null; hub.schedule(); });
    map.on("movestart zoomstart", function () { hub.hide(); });
    map.on("click", function (e) { hub.onClick(e); });
  }
  Hub.prototype.schedule = function () {
    var hub = this;
    if (!this.frame) { this.frame = L.Util.requestAnimFrame(function () { hub.frame = 0; hub.update(); }); }
  };
  Hub.prototype.hitPoints = function (cp) {
    for (var k = this.pointLayers.length - 1; k >= 0; k--) {  // topmost first
      var pl = this.pointLayers[k];
      if (!this.map.hasLayer(pl)) { continue; }
      var i = pl.hit(cp);
      if (i >= 0) { return { layer: pl.spec, i: i, latlng: pl.latLng(i) }; }
    }
    return null;
  };
  Hub.prototype.update = function () {
    var map = this.map;
    if (!this.mouse) { this.hide(); return; }
    var hit = this.hitPoints(this.mouse.containerPoint);
    var target = hit || (this.vector ? { layer: this.vector.layer, i: this.vector.i, latlng: this.mouse.latlng } : null);
    map.getContainer().style.cursor = target ? "pointer" : "";
    if (!target) { this.hide(); return; }
    var key = target.layer._index + ":" + target.i;
    this.tip.options.offset = hit ? [0, -6] : [0, -14];
    if (this.key !== key) { this.tip.setContent(tooltipHtml(target.layer, target.i)); this.key = key; }
    this.tip.setLatLng(target.latlng);
    if (!map.hasLayer(this.tip)) { map.openTooltip(this.tip); }
  };
  Hub.prototype.hide = function () {
    this.key = null;
    if (this.map.hasLayer(this.tip)) { this.map.closeTooltip(this.tip); }
  };
  Hub.prototype.onClick = function (e) {
    var hit = this.hitPoints(e.containerPoint) || this.clicked;
    this.clicked = null;
    if (hit) { this.open(hit.layer, hit.i, hit.latlng || e.latlng); }
  };
  Hub.prototype.open = function (layer, i, latlng) {
    return this.openHtml(latlng, popupHtml(layer, i));
  };
  Hub.prototype.openHtml = function (latlng, html) {
    this.hide();
    // pan the popup clear of the panels, not just of the map's edge
    var c = this.map.getContainer(), left = c.querySelector(".leaflet-top.leaflet-left");
    var right = c.querySelector(".leaflet-top.leaflet-right"), size = this.map.getSize();
    var lw = left ? left.offsetWidth : 0, rw = right ? right.offsetWidth : 0;
    var roomy = size.x - lw - rw > 420;
    return L.popup({
      maxWidth: 360, className: "nb-popup",
      autoPanPaddingTopLeft: [roomy ? lw + 20 : 20, 20], autoPanPaddingBottomRight: [roomy ? rw + 20 : 20, 20]
    }).setLatLng(latlng).setContent(html).openOn(this.map);
  };

  /* ---------- a point layer drawn on one canvas (tens of thousands of points) ---------- */

  var PointsLayer = L.Layer.extend({
    initialize: function (spec, scale, hub, pane) {
      this.spec = spec;
      this.hub = hub;
      this.options.pane = pane;
      var d = spec.kind === "point" ? decodePoints(spec.geom, scale) : { lon: new Float64Array(0), lat: new Float64Array(0) };
      this.lon = d.lon;
      this.lat = d.lat;
      this.n = d.lon.length;
      this.levels = spec.agg ? spec.agg.levels.map(decodeCells) : [];
    },
    cellMode: function () {  // counts per cell (city scale, or always when the features are not in the file)
      var agg = this.spec.agg;
      return Boolean(agg) && (!agg.raw || this._map.getZoom() < agg.rawZoom);
    },
    latLng: function (i) { return L.latLng(this.lat[i], this.lon[i]); },
    onAdd: function (map) {
      var n = this.n, crs = map.options.crs;
      this.levels.forEach(function (lv) {
        if (lv.px) { return; }
        lv.px = new Float64Array(lv.count); lv.py = new Float64Array(lv.count);
        for (var j = 0; j < lv.count; j++) {
          var q = crs.latLngToPoint(L.latLng(lv.lat[j], lv.lon[j]), 0);
          lv.px[j] = q.x; lv.py[j] = q.y;
        }
      });
      if (!this.px) {  // project once, at zoom 0; other zooms are a scale factor away
        this.px = new Float64Array(n);
        this.py = new Float64Array(n);
        for (var i = 0; i < n; i++) {
          var p = crs.latLngToPoint(L.latLng(this.lat[i], this.lon[i]), 0);
          this.px[i] = p.x; this.py[i] = p.y;
        }
      }
      this.canvas = L.DomUtil.create("canvas", "nb-points leaflet-zoom-animated");
      this.getPane().appendChild(this.canvas);
      map.on("moveend viewreset resize", this.reset, this);
      if (map._zoomAnimated) { map.on("zoomanim", this.animateZoom, this); }
      this.reset();
    },
    onRemove: function (map) {
      L.DomUtil.remove(this.canvas);
      map.off("moveend viewreset resize", this.reset, this);
      map.off("zoomanim", this.animateZoom, this);
      this.hub.hide();
    },
    animateZoom: function (e) {
      var scale = this._map.getZoomScale(e.zoom);
      var offset = this._map._latLngBoundsToNewLayerBounds(this.bounds, e.zoom, e.center).min;
      L.DomUtil.setTransform(this.canvas, offset, scale);
    },
    radius: function () {
      var z = this._map.getZoom(), r = this.spec.style.radius;
      return r * Math.min(2.6, Math.max(0.75, 1 + (z - 11) * 0.3));
    },
    reset: function () {
      var map = this._map, size = map.getSize(), dpr = root.devicePixelRatio || 1;
      var topLeft = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(this.canvas, topLeft);
      this.bounds = L.latLngBounds(map.containerPointToLatLng([0, 0]), map.containerPointToLatLng(size));
      this.canvas.width = Math.round(size.x * dpr);
      this.canvas.height = Math.round(size.y * dpr);
      this.canvas.style.width = size.x + "px";
      this.canvas.style.height = size.y + "px";
      this.draw(dpr, size);
    },
    drawCells: function (ctx, size) {
      var map = this._map, z = map.getZoom(), k = Math.pow(2, z), origin = map.getPixelBounds().min;
      var lv = null;
      this.levels.forEach(function (l) { if (!lv || l.z <= z) { lv = l; } });  // the finest level made for this zoom
      this.xs = null;
      ctx.setTransform(root.devicePixelRatio || 1, 0, 0, root.devicePixelRatio || 1, 0, 0);
      ctx.clearRect(0, 0, size.x, size.y);
      if (!lv) { return; }
      var cellPx = lv.cell * 256 * k / 360, s = this.spec, colour = s.colors[0] || s.style.fill;
      ctx.font = "600 10px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (var j = 0; j < lv.count; j++) {
        var x = lv.px[j] * k - origin.x, y = lv.py[j] * k - origin.y, c = lv.n[j];
        var r = Math.max(3, Math.min(cellPx * 0.48, 4 + 2.6 * Math.log(1 + c) / Math.LN2));
        if (x < -r || y < -r || x > size.x + r || y > size.y + r) { continue; }
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 6.283185307179586);
        ctx.globalAlpha = 0.62;
        ctx.fillStyle = colour;
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#ffffff";
        ctx.stroke();
        if (r >= 9) {
          ctx.fillStyle = "#ffffff";
          ctx.fillText(c >= 10000 ? Math.round(c / 1000) + "k" : c >= 1000 ? (c / 1000).toFixed(1) + "k" : String(c), x, y);
        }
      }
    },
    draw: function (dpr, size) {
      if (this.cellMode()) { this.drawCells(this.canvas.getContext("2d"), size); return; }
      var ctx = this.canvas.getContext("2d"), s = this.spec, k = Math.pow(2, this._map.getZoom());
      var origin = this._map.getPixelBounds().min, r = this.radius(), n = this.n;
      var colors = s.colors, codes = s.ci, nc = colors.length;
      var xs = new Float32Array(n), ys = new Float32Array(n), shown = new Uint8Array(n);
      var w = size.x, h = size.y, i;
      for (i = 0; i < n; i++) {
        var x = this.px[i] * k - origin.x, y = this.py[i] * k - origin.y;
        xs[i] = x; ys[i] = y;
        shown[i] = (x > -r && y > -r && x < w + r && y < h + r) ? 1 : 0;
      }
      this.xs = xs; this.ys = ys; this.shown = shown; this.r = r; this.grid = null;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, w, h);
      ctx.globalAlpha = s.style.fillOpacity;
      var ring = s.style.ring;
      for (var c = 0; c < nc; c++) {  // one path per colour: fast for tens of thousands of points
        ctx.beginPath();
        var any = false;
        for (i = 0; i < n; i++) {
          if (!shown[i] || (codes ? codes[i] : 0) !== c) { continue; }
          any = true;
          if (r < 1.6 && !ring) { ctx.rect(xs[i] - r, ys[i] - r, 2 * r, 2 * r); }
          else { ctx.moveTo(xs[i] + r, ys[i]); ctx.arc(xs[i], ys[i], r, 0, 6.283185307179586); }
        }
        if (!any) { continue; }
        ctx.fillStyle = colors[c];
        ctx.fill();
        if (ring || r >= 3.5) {
          ctx.globalAlpha = 1;
          ctx.lineWidth = ring ? 2 : 0.75;
          ctx.strokeStyle = ring || "#ffffff";
          ctx.stroke();
          ctx.globalAlpha = s.style.fillOpacity;
        }
      }
    },
    hit: function (cp) {  // index of the nearest shown point within reach of the cursor, or -1
      if (!this.xs) { return -1; }
      var cell = 12, i, key;
      if (!this.grid) {
        var grid = {};
        for (i = 0; i < this.n; i++) {
          if (!this.shown[i]) { continue; }
          key = Math.floor(this.xs[i] / cell) + ":" + Math.floor(this.ys[i] / cell);
          (grid[key] || (grid[key] = [])).push(i);
        }
        this.grid = grid;
      }
      var reach = Math.max(this.r + 3, 5), best = -1, bestD = reach * reach;
      var cx = Math.floor(cp.x / cell), cy = Math.floor(cp.y / cell), span = Math.ceil(reach / cell);
      for (var gx = cx - span; gx <= cx + span; gx++) {
        for (var gy = cy - span; gy <= cy + span; gy++) {
          var list = this.grid[gx + ":" + gy];
          if (!list) { continue; }
          for (var j = 0; j < list.length; j++) {
            i = list[j];
            var dx = this.xs[i] - cp.x, dy = this.ys[i] - cp.y, d = dx * dx + dy * dy;
            if (d <= bestD) { bestD = d; best = i; }
          }
        }
      }
      return best;
    }
  });

  /* ---------- lines and polygons: Leaflet paths on the map's canvas renderer ---------- */

  function vectorLayer(spec, scale, hub, renderer) {
    var polygon = spec.kind === "polygon", shapes = decodeShapes(spec.geom, scale, polygon);
    var st = spec.style, group = L.layerGroup();
    var base = {
      renderer: renderer, color: st.color, weight: st.weight, opacity: st.opacity,
      fillColor: st.fill, fillOpacity: st.fillOpacity, fill: polygon && st.fillOpacity > 0,
      dashArray: st.dash || null, lineJoin: "round", interactive: true
    };
    shapes.forEach(function (parts, i) {
      var opts = L.extend({}, base), colour = spec.colors[spec.ci ? spec.ci[i] : 0];
      if (st.colorStroke) { opts.color = colour; }
      if (polygon) { opts.fillColor = colour; } else { opts.color = colour; }
      var shape = polygon ? L.polygon(parts, opts) : L.polyline(parts, opts);
      shape.nbLayer = spec.id;
      shape.on("mouseover", function () {
        hub.vector = { layer: spec, i: i };
        shape.setStyle({ weight: st.weight + 2 });
        hub.schedule();
      });
      shape.on("mouseout", function () {
        if (hub.vector && hub.vector.layer === spec && hub.vector.i === i) { hub.vector = null; }
        shape.setStyle({ weight: st.weight });
        hub.schedule();
      });
      shape.on("click", function (e) { hub.clicked = { layer: spec, i: i, latlng: e.latlng }; });
      group.addLayer(shape);
      spec._shapes.push(shape);
    });
    if (spec.labels) {
      var lab = spec.labels, pts = decodePoints(lab, scale);
      for (var j = 0; j < lab.t.length; j++) {
        L.marker([pts.lat[j], pts.lon[j]], {
          icon: L.divIcon({ className: "nb-label", html: "<span>" + lab.t[j] + "</span>", iconSize: null }),
          interactive: false, keyboard: false, pane: "nbLabels"
        }).addTo(group);
      }
    }
    return group;
  }

  /* ---------- controls: layers with their legends, target verdicts, sources, notes ---------- */

  function swatch(kind, colour, ring) {
    var style = kind === "line" ? "background:" + colour : "background:" + colour + (ring ? ";box-shadow:0 0 0 2px " + ring : "");
    return "<span class='nb-sw nb-sw-" + kind + "' style='" + style + "'></span>";
  }

  function legendHtml(spec) {
    var lg = spec.legend, note = spec.agg ? "<div class='nb-layer-note nb-agg-note'>" + spec.agg.note + "</div>" : "";
    // one category only: the swatch of the layer row already says it all
    if (!lg || (lg.type !== "continuous" && lg.items.length < 2)) { return note; }
    var html = "<div class='nb-legend'>";
    if (lg.title) { html += "<div class='nb-legend-t'>" + lg.title + "</div>"; }
    if (lg.type === "continuous") {
      html += "<div class='nb-ramp' style='background:linear-gradient(to right," + lg.colors.join(",") + ")'></div>" +
        "<div class='nb-ramp-l'><span>" + lg.min + "</span><span>" + lg.max + "</span></div>";
    } else {
      lg.items.forEach(function (it) {
        html += "<div class='nb-li'>" + swatch(spec.kind, it.color, spec.style.ring) + "<span class='nb-li-t'>" + it.label +
          "</span><span class='nb-li-n'>" + it.count + "</span></div>";
      });
    }
    return html + "</div>" + note;
  }

  function layersControl(inst) {
    var spec = inst.spec, Ctl = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = el("div", "nb-panel nb-layers");
        var head = el("div", "nb-panel-h", spec.i18n.layers + "<button type='button' class='nb-fold' aria-label='" +
          spec.i18n.fold + "'>&#8722;</button>");
        var body = el("div", "nb-panel-b");
        box.appendChild(head);
        box.appendChild(body);
        head.querySelector("button").onclick = function () {
          var folded = box.classList.toggle("nb-folded");
          this.innerHTML = folded ? "&#43;" : "&#8722;";
        };
        spec.groups.forEach(function (g) {
          // listed top-down: the layer drawn last (on top) comes first
          var members = inst.layers.filter(function (l) { return l.spec.group === g.id; }).reverse();
          if (!members.length) { return; }
          var gh = el("div", "nb-group-h", "<span class='nb-caret'>&#9662;</span>" + g.title +
            " <span class='nb-count'>" + members.length + "</span>"), gb = el("div", "nb-group-b");
          gh.onclick = function () {
            var folded = gb.style.display === "none";
            gb.style.display = folded ? "" : "none";
            gh.querySelector(".nb-caret").innerHTML = folded ? "&#9662;" : "&#9656;";
          };
          body.appendChild(gh);
          body.appendChild(gb);
          members.forEach(function (entry) {
            var ls = entry.spec, row = el("div", "nb-layer");
            var single = ls.legend && ls.legend.type !== "continuous" && ls.legend.items.length === 1 ? ls.legend.items[0] : null;
            var badge = ls.illustrative ? "<span class='nb-badge' title='" + ls.note + "'>" + ls.badge + "</span>" : "";
            var label = el("label", "nb-layer-h", "<input type='checkbox'>" +
              swatch(ls.kind, single ? single.color : ls.colors[0], ls.style.ring) + "<span class='nb-lt'>" + ls.title +
              (single ? " <span class='nb-lstat'>· " + single.label + "</span>" : "") + "</span>" +
              "<span class='nb-count'>" + ls.countText + "</span>" + badge + sevBadge(ls.sev));
            var box2 = label.querySelector("input");
            box2.checked = ls.visible;
            var legend = el("div", "nb-layer-b", legendHtml(ls));
            legend.style.display = ls.visible ? "" : "none";
            box2.onchange = function () {
              if (box2.checked) { inst.map.addLayer(entry.layer); restack(inst); } else { inst.map.removeLayer(entry.layer); }
              legend.style.display = box2.checked ? "" : "none";
            };
            row.appendChild(label);
            row.appendChild(legend);
            gb.appendChild(row);
          });
        });
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new Ctl();
  }

  function targetsControl(spec) {
    var t = spec.targets, Ctl = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = el("div", "nb-panel nb-targets");
        var html = "<div class='nb-panel-h'>" + t.title + "<button type='button' class='nb-fold' aria-label='" +
          spec.i18n.fold + "'>&#8722;</button></div><div class='nb-panel-b'><div class='nb-tsum'>" + t.summary + "</div>";
        t.rows.forEach(function (r) {
          var years = "";
          if (r.years.length > 1) {
            years = "<div class='nb-years'>" + r.years.map(function (y) {
              return "<span class='nb-y nb-s-" + y.status + "' title='" + y.text + "'>" + y.year + "</span>";
            }).join("") + "</div>";
          }
          var bar = r.share === null ? "" : "<div class='nb-bar'><i class='nb-s-" + r.status + "' style='width:" +
            (100 * r.share).toFixed(1) + "%'></i></div>";
          html += "<div class='nb-t'><span class='nb-dot nb-s-" + r.status + "' title='" + r.statusText + "'></span>" +
            "<div class='nb-t-b'><div class='nb-t-h'>" + r.label + "</div><div class='nb-t-v'>" + r.value + "</div>" + bar + years + "</div></div>";
        });
        box.innerHTML = html + "</div>";
        box.querySelector("button").onclick = function () {
          var folded = box.classList.toggle("nb-folded");
          this.innerHTML = folded ? "&#43;" : "&#8722;";
        };
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new Ctl();
  }

  function htmlControl(position, cls, html) {
    var Ctl = L.Control.extend({
      options: { position: position },
      onAdd: function () {
        var box = el("div", cls, html);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new Ctl();
  }

  function sourcesHtml(spec) {
    var html = "<div class='nb-src-h'>" + spec.i18n.sources + "</div>";
    spec.sources.forEach(function (s) {
      html += "<div class='nb-src" + (s.illustrative ? " nb-src-ill" : "") + "'>" +
        (s.illustrative ? "<span class='nb-badge'>" + spec.i18n.badge + "</span> " : "") +
        "<b>" + s.layers + "</b>: " + s.text + "</div>";
    });
    return html;
  }

  /* ---------- assembly ---------- */

  // Keep the scrolling panels clear of the controls in the corners below them; panels of one column
  // share its height (each its natural height when all fit, else evenly, at least 80 px each).
  function layoutPanels(map) {
    var c = map.getContainer(), h = c.clientHeight, top0 = c.getBoundingClientRect().top;
    function fit(corner, below) {
      var col = c.querySelector(corner), low = c.querySelector(below);
      if (!col) { return; }
      var bodies = [].slice.call(col.querySelectorAll(".nb-panel-b"));
      if (!bodies.length) { return; }
      bodies.forEach(function (b) { b.style.maxHeight = "none"; });
      var natural = bodies.map(function (b) { return b.offsetHeight; });
      var total = natural.reduce(function (a, b) { return a + b; }, 0);
      var used = col.getBoundingClientRect().bottom - top0 - total;  // titles, headers and gaps
      var reserved = low ? low.offsetHeight + 26 : 16, free = h - reserved - used;
      // shared out evenly, a short panel keeping its own height and leaving the rest to the others
      var order = natural.map(function (n, k) { return k; }).sort(function (a, b) { return natural[a] - natural[b]; });
      var left = Math.max(free, 80 * bodies.length), rest = bodies.length;
      order.forEach(function (k) {
        var share = Math.max(Math.min(natural[k], left / rest), Math.min(natural[k], 80));
        bodies[k].style.maxHeight = Math.floor(share) + "px";
        left -= share; rest -= 1;
      });
    }
    if (c.classList.contains("nb-image")) { fit(".leaflet-top.leaflet-left", ".leaflet-bottom.leaflet-left"); return; }
    fit(".leaflet-top.leaflet-left", ".leaflet-bottom.leaflet-left");
    fit(".leaflet-top.leaflet-right", ".leaflet-bottom.leaflet-right");
  }

  // Keep vector layers in the spec's order on the one canvas (areas under lines; results above data),
  // also after one is switched off and on again (Leaflet would draw it last, on top).
  function restack(inst) {
    inst.layers.forEach(function (e) {
      if (e.spec.kind !== "point" && !e.spec.agg && inst.map.hasLayer(e.layer)) {
        e.spec._shapes.forEach(function (shape) { shape.bringToFront(); });
      }
    });
  }

  /* ---------- the sites an audit found: drawn above everything, large and labelled, and listed ---------- */

  function siteHead(it) {
    return "<b>" + it.id + "</b>" + (it.name ? " " + it.name : "");
  }

  function focusLayer(inst) {
    var group = L.layerGroup(), items = inst.spec.sites.items;
    inst.sites.markers = items.map(function (it, k) {
      var m = L.marker(it.ll, {
        pane: "nbFocus", keyboard: false, riseOnHover: true,
        icon: L.divIcon({ className: "nb-focus nb-focus-" + it.status, iconSize: null,
                          html: "<span class='nb-focus-m'></span><span class='nb-focus-t'>" + siteHead(it) + "</span>" })
      });
      m.on("click", function () { inst.sites.zoomTo(k); });
      group.addLayer(m);
      return m;
    });
    return group;
  }

  function siteBasis(it) {
    return it.sev ? "<div class='nb-basis'>" + sevBadge(it.sev) + " " + it.sev.basis + "</div>" : "";
  }

  function sitePopup(it) {
    return "<div class='nb-pop" + (it.sev && it.sev.advisory ? " nb-adv" : "") + "'><div class='nb-pop-l'>" +
      "<span class='nb-pill nb-s-" + it.status + "'>" + it.statusText + "</span></div><div class='nb-pop-h'>" +
      siteHead(it) + "</div>" + siteBasis(it) + "<div class='nb-pop-r'>" + it.reason + "</div></div>";
  }

  // The map's frame on the page: a figure holding the map (and, in a still image, its legend under it), and
  // the list of sites beside the figure (a column to its right on wide screens, below it on narrow ones and
  // in print: map.css). The map's element is moved into the frame before anything is drawn.
  function frame(inst) {
    var c = inst.map.getContainer(), parent = c.parentNode;
    var side = el("div", "nb-mapside" + (inst.spec.embedded ? "" : " nb-mapside-page")), fig = el("div", "nb-mapfig");
    parent.insertBefore(side, c);
    side.appendChild(fig);
    fig.appendChild(c);
    inst.side = side;
    inst.fig = fig;
    inst.map.invalidateSize({ pan: false });
  }

  function siteRow(it, k, extra) {
    return "<div class='nb-site" + (it.sev && it.sev.advisory ? " nb-adv" : "") + (extra ? " nb-extra" : "") +
      "' role='button' tabindex='0' data-k='" + k + "'><span class='nb-dot nb-s-" + it.status + "' title='" +
      it.statusText + "'></span><div class='nb-site-b'><div class='nb-site-h'>" + siteHead(it) + "</div>" +
      (it.title ? "<div class='nb-site-t'>" + it.title + "</div>" : "") + siteBasis(it) +
      "<div class='nb-site-r'>" + it.reason + "</div></div></div>";
  }

  // The sites beside the map, by severity then verdict: each group's count, its first sites and a
  // "N more" button for the rest shipped in the page (a group's sites beyond those are counted, not listed).
  function sitesList(inst) {
    var sites = inst.spec.sites, aside = el("aside", "nb-sitelist"), members = sites.groups.map(function () { return []; });
    sites.items.forEach(function (it, k) { members[it.g].push(k); });
    var total = sites.groups.reduce(function (n, g) { return n + g.count; }, 0);
    var html = "<div class='nb-sitelist-b'><div class='nb-sitelist-h'>" + sites.title + " <span class='nb-count'>" +
      total.toLocaleString("en-US") + "</span></div><div class='nb-sites-sum'>" + sites.summary + "<br>" + sites.hint + "</div>";
    sites.groups.forEach(function (g, gi) {
      html += "<div class='nb-sgroup" + (g.sev.advisory ? " nb-adv" : "") + "' data-g='" + gi + "'><div class='nb-sgroup-h'>" +
        sevBadge(g.sev) + " <span>" + g.statusText + "</span> <span class='nb-count'>" + g.countText + "</span></div>";
      members[gi].forEach(function (k, n) { html += siteRow(sites.items[k], k, n >= sites.page); });
      if (g.expandText) {
        html += "<button type='button' class='nb-sites-exp' data-g='" + gi + "'>" + g.expandText + "</button>";
      }
      if (g.moreText) { html += "<div class='nb-sites-more'>" + g.moreText + "</div>"; }
      html += "</div>";
    });
    aside.innerHTML = html + "</div>";
    function pick(e) {
      var button = e.target.closest ? e.target.closest(".nb-sites-exp") : null;
      if (button && e.type === "click") {
        var group = button.parentNode, open = group.classList.toggle("nb-open");
        button.innerHTML = open ? inst.spec.i18n.sites_collapse : sites.groups[Number(button.getAttribute("data-g"))].expandText;
        return;
      }
      var row = e.target.closest ? e.target.closest(".nb-site") : null;
      if (row && (e.type === "click" || e.key === "Enter")) { inst.sites.zoomTo(Number(row.getAttribute("data-k"))); }
    }
    aside.addEventListener("click", pick);
    aside.addEventListener("keydown", pick);
    inst.side.appendChild(aside);
    inst.sites.list = aside;
    return aside;
  }

  // Fit the data into the part of the map the panels leave free (when the map is wide enough).
  function fitData(map, bounds) {
    var c = map.getContainer(), size = map.getSize();
    var left = c.querySelector(".leaflet-top.leaflet-left"), right = c.querySelector(".leaflet-top.leaflet-right");
    var lw = left ? left.offsetWidth : 0, rw = right ? right.offsetWidth : 0;
    var tl = [12, 12], br = [12, 12];
    if (size.x - lw - rw > 360) { tl = [lw + 12, 12]; br = [rw + 12, 12]; }
    map.fitBounds(bounds, { paddingTopLeft: tl, paddingBottomRight: br, animate: false });
  }

  nbgeo.attach = function (map, spec) {
    var inst = { map: map, spec: spec, layers: [], byId: {} };
    var scale = spec.scale;
    frame(inst);
    L.DomUtil.addClass(map.getContainer(), "nb-map");
    map.getContainer().style.background = spec.background;
    // panes, bottom-up: data and result shapes (one canvas, overlayPane 400), data points, result points,
    // district names, then the sites the audit found (above everything but tooltips and popups)
    ["nbPoints", "nbResults", "nbLabels", "nbFocus"].forEach(function (name, k) {
      if (!map.getPane(name)) { map.createPane(name).style.zIndex = 410 + 10 * k; }
    });
    map.getPane("nbLabels").style.pointerEvents = "none";
    map.getPane("nbFocus").style.zIndex = 610;  // above Leaflet's marker pane (600), below tooltips (650) and popups
    var renderer = L.canvas({ padding: 0.3, tolerance: 3 });
    inst.renderer = renderer;
    var hub = new Hub(map);
    inst.hub = hub;
    if (map.attributionControl) { map.attributionControl.setPrefix(spec.attributionPrefix); }
    if (spec.basemap) {
      var bm = spec.basemap;
      L.tileLayer(bm.url, { attribution: bm.attribution, subdomains: bm.subdomains, maxZoom: bm.maxZoom, pane: "tilePane" }).addTo(map);
      if (bm.labels) { L.tileLayer(bm.labels, { subdomains: bm.subdomains, maxZoom: bm.maxZoom, pane: "tilePane" }).addTo(map); }
    }
    if (map.attributionControl) { map.attributionControl.addAttribution(spec.attribution); }
    spec.layers.forEach(function (ls, index) {
      ls._index = index;
      ls._shapes = [];
      ls._ids = decodeIds(ls.ids, ls.count);
      ls.ci = ls.ci === null ? null : ints(ls.ci);
      Object.keys(ls.props).forEach(function (key) { var p = ls.props[key]; if (p.d || p.t) { p.c = ints(p.c); } });
      var layer;
      if (ls.kind === "point" || ls.agg) {
        layer = new PointsLayer(ls, scale, hub, ls.group === "result" ? "nbResults" : "nbPoints");
        hub.pointLayers.push(layer);
      } else {
        layer = vectorLayer(ls, scale, hub, renderer);
      }
      var entry = { spec: ls, layer: layer };
      entry.popupHtml = function (i) { return popupHtml(ls, i); };
      entry.tooltipHtml = function (i) { return tooltipHtml(ls, i); };
      entry.openPopup = function (i) {
        if (!map.hasLayer(layer)) { map.addLayer(layer); }
        var ll = ls.kind === "point" ? layer.latLng(i) : ls._shapes[i].getBounds().getCenter();
        return hub.open(ls, i, ll).getElement().querySelector(".leaflet-popup-content");
      };
      inst.layers.push(entry);
      inst.byId[ls.id] = entry;
      if (ls.visible) { layer.addTo(map); }
    });
    restack(inst);
    inst.sites = { items: spec.sites ? spec.sites.items : [], markers: [] };
    inst.sites.zoomTo = function (k) {
      var it = inst.sites.items[k], b = L.latLngBounds(it.box);
      var zoom = Math.max(map.getZoom(), Math.min(15, map.getBoundsZoom(b) - 1));
      map.setView(it.ll, zoom, { animate: false });
      var list = inst.sites.list;
      if (list) {
        [].forEach.call(list.querySelectorAll(".nb-site"), function (row) {
          var on = Number(row.getAttribute("data-k")) === k;
          row.classList.toggle("nb-active", on);
          if (on && row.classList.contains("nb-extra") && !row.parentNode.classList.contains("nb-open")) {
            row.parentNode.querySelector(".nb-sites-exp").click();  // a marker's site among the folded ones
          }
        });
      }
      return hub.openHtml(L.latLng(it.ll), sitePopup(it));
    };
    if (spec.sites) {
      inst.sites.layer = focusLayer(inst).addTo(map);
      var quiet = function () {  // labels while they can be read: with many sites in view, only failing and
        // proposed ones keep theirs; with very many (a province), none does (the list names them all)
        if (!map._loaded) { return; }  // no view yet: fitData's moveend calls again
        var view = map.getBounds(), shown = inst.sites.items.filter(function (it) { return view.contains(it.ll); }).length;
        L.DomUtil[shown > 40 ? "addClass" : "removeClass"](map.getContainer(), "nb-quiet");
        L.DomUtil[shown > 150 ? "addClass" : "removeClass"](map.getContainer(), "nb-hush");
      };
      map.on("zoomend moveend", quiet);
      quiet();
    }
    if (spec.title && !spec.embedded) {
      htmlControl("topleft", "nb-panel nb-title", "<div class='nb-title-h'>" + spec.title + "</div><div class='nb-title-s'>" +
        spec.subtitle + "</div>" + spec.notes.map(function (n) { return "<div class='nb-note'>" + n + "</div>"; }).join("")).addTo(map);
    } else if (spec.notes.length) {
      htmlControl("topleft", "nb-panel nb-title", spec.notes.map(function (n) { return "<div class='nb-note'>" + n + "</div>"; }).join("")).addTo(map);
    }
    if (spec.targets && !spec.embedded) { targetsControl(spec).addTo(map); }
    if (spec.sites) { sitesList(inst); map.invalidateSize({ pan: false }); }
    layersControl(inst).addTo(map);
    if (!spec.embedded) { htmlControl("bottomleft", "nb-panel nb-sources", sourcesHtml(spec)).addTo(map); }
    L.control.scale({ position: "bottomright", imperial: false }).addTo(map);
    layoutPanels(map);
    map.on("resize", function () { layoutPanels(map); });
    if (spec.bounds) { fitData(map, spec.bounds); }
    nbgeo.instances.push(inst);
    root.nbgeoReadyAt = root.performance ? root.performance.now() : null;  // ms since navigation (bench/map_size.py)
    root.nbgeoReady = true;
    return inst;
  };

  // For a still image (nbgeo map --png, the maps of a PDF): the legend of every layer drawn, whole, in a compact
  // band under the map (small type, in as many columns as the width holds) or in columns beside it, whichever
  // leaves the map more room, never over it; the sites list is left out (the sites are labelled on the map).
  // Returns, per map, whether the legend and a map of at least half the picture both fit (a page's embedded
  // map grows by the band instead).
  nbgeo.imageMode = function () {
    return nbgeo.instances.map(function (inst) {
      var c = inst.map.getContainer(), box = inst.fig.querySelector(".nb-layers");
      L.DomUtil.addClass(c, "nb-image");
      inst.side.classList.add("nb-image-side");
      inst.fig.classList.add("nb-image-fig");
      if (!box) { inst.map.invalidateSize({ pan: false }); return true; }
      box.classList.remove("nb-folded");
      [].forEach.call(box.querySelectorAll(".nb-layer"), function (row) {
        if (!row.querySelector("input").checked) { row.style.display = "none"; }
      });
      [].forEach.call(box.querySelectorAll(".nb-group-b"), function (gb) {
        gb.style.display = "";
        var shown = [].some.call(gb.querySelectorAll(".nb-layer"), function (r) { return r.style.display !== "none"; });
        gb.previousSibling.style.display = shown ? "" : "none";
      });
      var band = inst.fig.querySelector(".nb-image-legend");
      if (!band) {
        band = el("div", "nb-image-legend", "<div class='nb-image-legend-h'>" + inst.spec.i18n.legend + "</div>");
        inst.fig.appendChild(band);
      }
      band.appendChild(box);
      var body = box.querySelector(".nb-panel-b"), fig = inst.fig;
      body.style.maxHeight = "none";
      function room() {  // the map's share of the picture, or 0 when the legend does not fit in it
        var pic = fig.getBoundingClientRect(), b = band.getBoundingClientRect(), m = c.getBoundingClientRect();
        var whole = b.bottom <= Math.min(root.innerHeight, pic.bottom) + 0.5 && b.right <= pic.right + 0.5;
        return whole ? (m.width * m.height) / (pic.width * pic.height) : 0;
      }
      // a standalone picture: the band under the map, or, when that leaves the map less room, a column of
      // up to four columns of entries to its right (a square city in a wide picture)
      var best = { side: 0, share: inst.spec.embedded ? 1 : room() };
      for (var cols = 1; !inst.spec.embedded && best.share < 0.6 && cols <= 4; cols++) {
        fig.classList.add("nb-legend-side");
        body.style.columnCount = String(cols);
        band.style.width = (265 * cols + 20) + "px";
        var share = room();
        if (share > best.share) { best = { side: cols, share: share }; }
      }
      fig.classList.toggle("nb-legend-side", best.side > 0);
      body.style.columnCount = best.side ? String(best.side) : "";
      band.style.width = best.side ? (265 * best.side + 20) + "px" : "";
      inst.map.invalidateSize({ pan: false });
      layoutPanels(inst.map);
      if (inst.spec.bounds) { fitData(inst.map, inst.spec.bounds); }  // the data in the whole map, now clear
      return inst.spec.embedded || room() >= 0.5;
    });
  };

  nbgeo.mount = function (id, spec) {
    var map = L.map(id, { preferCanvas: true, zoomControl: false, zoomSnap: 0.25 });
    L.control.zoom({ position: "bottomright" }).addTo(map);
    return nbgeo.attach(map, spec);
  };
})(window);
