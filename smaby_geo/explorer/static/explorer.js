/* smaby_geo scenario explorer: the page. Every user string is written with textContent. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const MINUTE_BINS = [15, 30, 45, 60, 90, 120, Infinity];
  const MINUTE_COLOURS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000"];
  const NO_ROUTE = "#9e9e9e";
  const DELTA_BINS = [-15, -5, -1, -0.05, 0.05, 1, 5, 15, Infinity];
  const DELTA_COLOURS = ["#08306b", "#2171b5", "#6baed6", "#c6dbef", null, "#fcbba1", "#fb6a4a", "#cb181d", "#67000d"];
  const ROUTE_CHANGE = 10000;
  const S = { info: null, grid: null, cells: null, state: null, mode: "select", picks: [],
              linkLayers: new Map(), selected: null, busy: false };

  // ------------------------------------------------------------------ helpers
  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    return v.toLocaleString("en-GB", { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function table(rows, cols, idFor) {
    const t = el("table");
    const h = el("tr");
    cols.forEach((c) => h.appendChild(el("th", c[1])));
    t.appendChild(h);
    rows.forEach((r) => {
      const tr = el("tr");
      cols.forEach((c) => {
        const td = el("td", fmt(r[c[0]], c[2]));
        if (idFor) { const id = idFor(r, c[0]); if (id) td.id = id; }
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    return t;
  }
  function showError(msg) {
    const e = $("error");
    e.textContent = msg || "";
    e.hidden = !msg;
  }
  function setStatus(msg) { $("status").textContent = msg; }
  async function api(path, opts) {
    const r = await fetch(path, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = { error: "the server sent no JSON (" + r.status + ")" }; }
    if (!r.ok) throw new Error(data && data.error ? data.error : "request failed (" + r.status + ")");
    return data;
  }
  function colourMinutes(m) {
    if (m === null) return NO_ROUTE;
    for (let i = 0; i < MINUTE_BINS.length; i++) if (m < MINUTE_BINS[i]) return MINUTE_COLOURS[i];
    return MINUTE_COLOURS[MINUTE_COLOURS.length - 1];
  }
  function colourDelta(d) {
    if (d === null) return null;
    if (d <= -ROUTE_CHANGE) return "#00441b";
    if (d >= ROUTE_CHANGE) return "#000000";
    for (let i = 0; i < DELTA_BINS.length; i++) if (d < DELTA_BINS[i]) return DELTA_COLOURS[i];
    return DELTA_COLOURS[DELTA_COLOURS.length - 1];
  }

  // ------------------------------------------------------------------ map
  const map = L.map("map", { preferCanvas: false, zoomControl: true });
  map.createPane("cells").classList.add("leaflet-cells-pane");
  map.attributionControl.setPrefix(false);

  const CellLayer = L.Layer.extend({
    onAdd: function (m) {
      this._c = L.DomUtil.create("canvas", "leaflet-zoom-hide");
      m.getPane("cells").appendChild(this._c);
      m.on("moveend zoomend resize viewreset", this.redraw, this);
      this.redraw();
    },
    onRemove: function (m) {
      L.DomUtil.remove(this._c);
      m.off("moveend zoomend resize viewreset", this.redraw, this);
    },
    setColours: function (cols) { this._cols = cols; if (this._map) this.redraw(); },
    redraw: function () {
      const m = this._map, g = S.grid, cols = this._cols;
      if (!m || !g || !cols) return;
      const size = m.getSize(), c = this._c;
      c.width = size.x; c.height = size.y;
      L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
      const ctx = c.getContext("2d");
      ctx.clearRect(0, 0, size.x, size.y);
      const pxPerM0 = 256 * Math.pow(2, m.getZoom()) / 40075016.686;
      for (let i = 0; i < g.lat.length; i++) {
        const col = cols[i];
        if (!col) continue;
        const p = m.latLngToContainerPoint([g.lat[i], g.lon[i]]);
        if (p.x < -20 || p.y < -20 || p.x > size.x + 20 || p.y > size.y + 20) continue;
        const s = Math.max(1.5, g.size_m[i] * pxPerM0 / Math.cos(g.lat[i] * Math.PI / 180));
        ctx.fillStyle = col;
        ctx.fillRect(p.x - s / 2, p.y - s / 2, s + 0.5, s + 0.5);
      }
    },
  });
  const cellLayer = new CellLayer();
  const linkRenderer = L.svg({ padding: 0.5 });
  let linksLayer = null, sitesLayer = L.layerGroup(), draftLayer = L.layerGroup();
  const legend = L.control({ position: "bottomleft" });
  legend.onAdd = function () { this._div = L.DomUtil.create("div", "legend"); return this._div; };

  function drawLegend(kind) {
    const d = legend._div;
    if (!d) return;
    d.replaceChildren();
    const title = el("strong", kind === "difference" ? "Change in minutes (scenario − base)"
      : "Minutes to the nearest " + $("type").value.replace("_", " ") + " (" + kind + ")");
    title.id = "legend-title";
    d.appendChild(title);
    const items = kind === "difference"
      ? [["#00441b", "route gained"], ["#08306b", "≤ −15"], ["#2171b5", "−15 to −5"], ["#6baed6", "−5 to −1"],
         ["#c6dbef", "−1 to 0"], ["#fcbba1", "0 to 1"], ["#fb6a4a", "1 to 5"], ["#cb181d", "5 to 15"],
         ["#67000d", "> 15"], ["#000000", "route lost"]]
      : MINUTE_COLOURS.map((c, i) => [c, (i ? MINUTE_BINS[i - 1] : 0) + (MINUTE_BINS[i] === Infinity ? "+" : "–" + MINUTE_BINS[i])])
        .concat([[NO_ROUTE, "no route"]]);
    items.forEach(([c, label]) => {
      const row = el("div");
      const sw = el("i"); sw.style.background = c;
      row.appendChild(sw); row.appendChild(document.createTextNode(label));
      d.appendChild(row);
    });
  }

  function repaintCells() {
    if (!S.cells) return;
    let kind = $("layer").value;
    if (kind !== "base" && !S.cells.delta) kind = "base";
    const src = kind === "difference" ? S.cells.delta : kind === "scenario" ? S.cells.scenario : S.cells.base;
    const colour = kind === "difference" ? colourDelta : colourMinutes;
    const cols = new Array(src.length);
    for (let i = 0; i < src.length; i++) cols[i] = colour(Number.isNaN(src[i]) ? null : src[i]);
    cellLayer.setColours(cols);
    drawLegend(kind);
    document.body.dataset.layer = kind;
  }

  async function loadCells() {
    const r = await fetch("/api/cells?type=" + encodeURIComponent($("type").value));
    if (!r.ok) throw new Error((await r.json()).error);
    const names = r.headers.get("X-Arrays").split(","), n = Number(r.headers.get("X-Cells"));
    const all = new Float32Array(await r.arrayBuffer());
    const cells = {};
    names.forEach((name, i) => { cells[name] = all.subarray(i * n, (i + 1) * n); });
    S.cells = cells;
    repaintCells();
  }

  function linkStyle(f) {
    const p = f.properties;
    const touched = S.state && S.state.result && S.state.result.touched_links.includes(String(p.link_id));
    return {
      color: touched ? "#e7298a" : p.ferry ? "#1f78b4" : "#444",
      weight: p.ferry ? 5 : 2.5,
      dashArray: p.ferry && !touched ? "6 4" : null,
      opacity: 0.9,
      className: "link link-" + p.link_id,
    };
  }

  async function loadLinks() {
    const gj = await api("/api/links");
    linksLayer = L.geoJSON(gj, {
      renderer: linkRenderer,
      style: linkStyle,
      onEachFeature: (f, layer) => {
        S.linkLayers.set(String(f.properties.link_id), layer);
        layer.on("click", (ev) => { L.DomEvent.stopPropagation(ev); if (S.mode === "select") selectLink(f.properties); else mapClick(ev); });
      },
    }).addTo(map);
  }

  async function loadSites() {
    const data = await api("/api/sites");
    sitesLayer.clearLayers();
    const closed = new Set(data.closed);
    const add = (s, opened) => {
      if (s.service_type !== $("type").value) return;
      const isClosed = closed.has(s.service_id);
      const mk = L.circleMarker([s.lat, s.lon], {
        radius: 6, weight: 2, color: "#000", fillOpacity: 1,
        fillColor: opened ? "#33a02c" : isClosed ? "#ffffff" : "#6a3d9a",
      });
      mk.bindTooltip(() => el("span", s.name + (isClosed ? " (closed)" : opened ? " (opened)" : "")));
      mk.on("click", (ev) => { L.DomEvent.stopPropagation(ev); if (S.mode === "select") selectSite(s, isClosed, opened); });
      sitesLayer.addLayer(mk);
    };
    data.sites.forEach((s) => add(s, false));
    data.opened.forEach((s) => add(s, true));
  }

  // ------------------------------------------------------------------ selection and edits
  function field(label, input) {
    const row = el("div", null, { class: "row" });
    row.appendChild(el("label", label));
    row.appendChild(input);
    return row;
  }
  function numberInput(id, value, min, max) {
    const i = el("input", null, { type: "number", id: id, min: String(min), max: String(max), step: "any" });
    i.value = value;
    return i;
  }
  function button(id, label, fn) {
    const b = el("button", label, { id: id });
    b.addEventListener("click", fn);
    return b;
  }

  function selectLink(p) {
    const box = $("selection");
    box.replaceChildren();
    S.selected = p;
    box.appendChild(el("h3", (p.ferry ? "Ferry link " : "Road link ") + p.link_id));
    const rows = [
      ["category", p.category], ["road number", p.road_number], ["length (m)", fmt(p.length_m, 0)],
      ["minutes (forward / backward)", fmt(p.minutes_fw, 2) + " / " + fmt(p.minutes_bw, 2)],
      ["speed incl. waits (km/h)", fmt(p.speed_kmh, 1)],
    ];
    const t = el("table");
    rows.forEach(([k, v]) => { const tr = el("tr"); tr.appendChild(el("td", k)); tr.appendChild(el("td", v === null ? "–" : v)); t.appendChild(tr); });
    box.appendChild(t);
    const id = p.link_id;
    if (p.ferry) {
      const hw = numberInput("headway", 30, 1, 1440);
      box.appendChild(field("headway (min)", hw));
      box.appendChild(button("set-headway", "Set headway", () =>
        addEdit({ ferry_headway: { link_id: id, headway_min: Number(hw.value) } })));
      const sp = numberInput("bridge-speed", 80, 1, 130);
      box.appendChild(field("fixed link speed (km/h)", sp));
      box.appendChild(button("replace-ferry", "Replace with bridge", () =>
        addEdit({ replace_ferry: { link_id: id, speed_kmh: Number(sp.value), kind: "bridge" } })));
    } else {
      const sp = numberInput("speed", p.speed_kmh ? Math.round(p.speed_kmh) : 80, 1, 130);
      box.appendChild(field("new speed (km/h)", sp));
      box.appendChild(button("set-speed", "Set speed", () =>
        addEdit({ upgrade: { link_ids: [id], speed_kmh: Number(sp.value), keep_faster: false } })));
      box.appendChild(button("close-link", "Close link", () => addEdit({ close_link: { link_ids: [id] } })));
    }
  }

  function selectSite(s, isClosed, opened) {
    const box = $("selection");
    box.replaceChildren();
    box.appendChild(el("h3", s.name));
    box.appendChild(el("p", s.service_type + " · " + s.service_id + (isClosed ? " · closed" : "")));
    if (!isClosed && !opened) {
      box.appendChild(button("close-facility", "Close facility", () =>
        addEdit({ close_facility: { service_id: s.service_id } })));
    }
  }

  async function project(latlng) {
    return api("/api/project?lat=" + latlng.lat + "&lon=" + latlng.lng);
  }

  async function mapClick(ev) {
    if (S.mode === "newlink") {
      S.picks.push(ev.latlng);
      draftLayer.addLayer(L.circleMarker(ev.latlng, { radius: 5, color: "#e7298a" }));
      if (S.picks.length === 2) {
        draftLayer.addLayer(L.polyline(S.picks, { color: "#e7298a", weight: 4 }));
        const [a, b] = await Promise.all(S.picks.map(project));
        const box = $("selection");
        box.replaceChildren(el("h3", "New link"));
        const sp = numberInput("newlink-speed", 80, 1, 130);
        box.appendChild(field("speed (km/h)", sp));
        const kind = el("select", null, { id: "newlink-kind" });
        ["bridge", "tunnel", "road"].forEach((k) => kind.appendChild(el("option", k, { value: k })));
        box.appendChild(field("kind", kind));
        box.appendChild(button("add-newlink", "Add new link", () => {
          addEdit({ new_link: { start: [a.x, a.y], end: [b.x, b.y], speed_kmh: Number(sp.value), kind: kind.value } });
        }));
        S.picks = [];
      }
    } else if (S.mode === "open") {
      const at = await project(ev.latlng);
      draftLayer.clearLayers();
      draftLayer.addLayer(L.circleMarker(ev.latlng, { radius: 6, color: "#33a02c" }));
      const box = $("selection");
      box.replaceChildren(el("h3", "Open a facility here"));
      const name = el("input", null, { id: "open-name", maxlength: "120" });
      name.value = "New " + $("type").value.replace("_", " ");
      box.appendChild(field("name", name));
      box.appendChild(button("add-open", "Open facility", () =>
        addEdit({ open_facility: { name: name.value, service_type: $("type").value, x: at.x, y: at.y } })));
    }
  }

  function setMode(mode) {
    S.mode = mode; S.picks = [];
    draftLayer.clearLayers();
    document.querySelectorAll("#modes button").forEach((b) => b.classList.toggle("on", b.dataset.mode === mode));
    $("mode-hint").textContent = {
      select: "Click a road or ferry link, or a service site.",
      newlink: "Click the two ends of the new link (each within 2 km of a road).",
      open: "Click where the new facility opens.",
    }[mode];
  }

  async function run(label, fn) {
    if (S.busy) return;
    S.busy = true;
    showError("");
    setStatus(label + "…");
    const t0 = performance.now();
    try {
      let state = await fn();
      await showState(state);
      const t1 = performance.now();
      setStatus("updated in " + ((t1 - t0) / 1000).toFixed(2) + " s");
      draftLayer.clearLayers();
      if (state.result && state.result.regions_pending) {
        setStatus("updated in " + ((t1 - t0) / 1000).toFixed(2) + " s; computing regions and benefit…");
        state = await api("/api/regions");
        S.state = state;
        showResult(state.result);
        setStatus("updated in " + ((t1 - t0) / 1000).toFixed(2) + " s; regions and benefit in "
          + ((performance.now() - t1) / 1000).toFixed(2) + " s");
      }
    } catch (e) {
      showError(e.message);
      setStatus("error");
    } finally {
      S.busy = false;
    }
  }
  function post(path, body, type) {
    return api(path, { method: "POST", headers: { "Content-Type": type || "application/json" }, body: body });
  }
  function addEdit(edit) { return run("computing", () => post("/api/edits", JSON.stringify(edit))); }

  // ------------------------------------------------------------------ results
  async function showState(st) {
    S.state = st;
    $("name").value = st.name;
    $("description").value = st.description;
    const ol = $("edits");
    ol.replaceChildren();
    st.edits.forEach((e) => ol.appendChild(el("li", e.text)));
    $("undo").disabled = !st.can_undo;
    const res = st.result;
    $("results").hidden = !res;
    document.body.dataset.result = res ? "yes" : "no";
    if (res) {
      $("seconds").textContent = "(computed in " + res.seconds.toFixed(2) + " s on the server)";
      $("summary").replaceChildren(table(res.summary, [["service_type", "type"], ["population_faster", "faster"],
        ["population_slower", "slower"], ["mean_change_minutes", "mean Δ min", 2], ["person_minutes_saved", "person-min saved", 0]]));
      $("thresholds").replaceChildren(table(res.thresholds, [["service_type", "type"], ["minutes", "min"],
        ["newly_within", "newly within"], ["newly_outside", "newly outside"]],
        (r, c) => (c === "newly_within" || c === "newly_outside") ? "thr-" + r.service_type + "-" + r.minutes + "-" + c.split("_")[1] : null));
      $("kommuner").replaceChildren(res.kommuner.length ? table(res.kommuner.slice(0, 60), [["kommunenummer", "nr"], ["kommunenavn", "kommune"],
        ["service_type", "type"], ["population", "people", 0], ["mean_change_minutes", "mean Δ min", 2]]) : el("p", "none"));
      $("catchments").replaceChildren(table(res.catchments, [["service_type", "type"], ["cells_changed", "cells"], ["population_changed", "people"]]));
      showResult(res);
      if ($("layer").value === "base") $("layer").value = "difference";
    }
    if (linksLayer) linksLayer.setStyle(linkStyle);
    await Promise.all([loadCells(), loadSites()]);
  }

  function showResult(res) {
    const b = res.benefit;
    $("benefit").textContent = b ? "Rule-of-half benefit: " + fmt(b.person_minutes_per_day, 0) + " person-minutes per day (" + b.note + ")."
      : res.regions_pending ? "computing labour-market regions and the rule-of-half benefit…"
      : "Regions and benefit not computed (server started with --no-regions).";
    document.body.dataset.benefit = b ? "yes" : "no";
    $("regions").replaceChildren(res.regions && res.regions.length ? table(res.regions, [["kommunenummer", "kommune"],
      ["centre_base", "centre (base)"], ["centre_scenario", "centre (scenario)"]]) : el("p", res.regions ? "No kommune changes labour-market region." : ""));
  }

  async function loadSummary() {
    const data = await api("/api/summary?type=" + encodeURIComponent($("type").value));
    const rows = data.rows.slice().sort((a, b) => (b.median_minutes || 0) - (a.median_minutes || 0));
    const cols = [["kommunenavn", "kommune"], ["population", "people", 0], ["median_minutes", "median", 0], ["p90_minutes", "P90", 0]];
    Object.keys(rows[0] || {}).filter((k) => k.startsWith("share_within_")).forEach((k) =>
      cols.push([k, "≤" + k.replace("share_within_", ""), 2]));
    if (rows.length && !("kommunenavn" in rows[0])) cols[0] = ["kommunenummer", "kommune"];
    $("base-summary").replaceChildren(table(rows, cols));
  }

  // ------------------------------------------------------------------ start
  async function start() {
    try {
      S.info = await api("/api/info");
      const info = S.info;
      $("region").textContent = info.region + " · " + fmt(info.cells, 0) + " cells · " + fmt(info.population, 0) + " people";
      info.types.forEach((t) => $("type").appendChild(el("option", t.replace("_", " "), { value: t })));
      $("note").textContent = info.note;
      $("attribution").textContent = "Data: " + info.attribution;
      $("command").textContent = "Saved files run with: " + info.command;
      map.attributionControl.addAttribution(info.attribution.replace(/[<>&"]/g, ""));
      const b = info.bounds;
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]]);
      legend.addTo(map);
      const bnd = await api("/api/boundaries");
      L.geoJSON(bnd.fylker, { pane: "tilePane", interactive: false,
        style: { fillColor: "#efe9dc", fillOpacity: 1, color: "#8c8c8c", weight: 1 } }).addTo(map);
      L.geoJSON(bnd.kommuner, { pane: "tilePane", interactive: false,
        style: { color: "#b5b5b5", weight: 0.7 } }).addTo(map);
      map.attributionControl.addAttribution(bnd.attribution);
      S.grid = await api("/api/grid");
      cellLayer.addTo(map);
      await loadLinks();
      sitesLayer.addTo(map);
      draftLayer.addTo(map);
      let st = await api("/api/state");
      if (st.result && st.result.regions_pending) st = await api("/api/regions");
      await showState(st);
      await loadSummary();
      setStatus("ready");
      document.body.dataset.ready = "yes";
    } catch (e) {
      showError(e.message);
      setStatus("error");
    }
  }

  map.on("click", (ev) => { if (S.mode !== "select") mapClick(ev); });
  document.querySelectorAll("#modes button").forEach((b) => b.addEventListener("click", () => setMode(b.dataset.mode)));
  $("type").addEventListener("change", () => { loadCells(); loadSites(); loadSummary(); });
  $("layer").addEventListener("change", repaintCells);
  $("undo").addEventListener("click", () => run("undoing", () => post("/api/undo", "")));
  $("reset").addEventListener("click", () => run("clearing", () => post("/api/reset", "")));
  $("rename").addEventListener("click", () => run("renaming", () =>
    post("/api/name", JSON.stringify({ name: $("name").value, description: $("description").value }))));
  $("load").addEventListener("change", (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    if (f.size > S.info.max_yaml_bytes) { showError("scenario file is " + f.size + " bytes; the limit is " + S.info.max_yaml_bytes); return; }
    run("loading", async () => post("/api/scenario", await f.text(), "application/x-yaml"));
    ev.target.value = "";
  });

  // For tests and the curious: where a link is on screen (container pixels).
  window.explorer = {
    linkScreenPoint: (id) => {
      const layer = S.linkLayers.get(String(id));
      if (!layer) return null;
      const pts = layer.getLatLngs();
      const flat = Array.isArray(pts[0]) ? pts.flat() : pts;
      const a = map.latLngToContainerPoint(flat[Math.floor((flat.length - 1) / 2)]);
      const b = map.latLngToContainerPoint(flat[Math.ceil((flat.length - 1) / 2 + 0.01)] || flat[flat.length - 1]);
      const r = $("map").getBoundingClientRect();
      return { x: r.left + (a.x + b.x) / 2, y: r.top + (a.y + b.y) / 2 };
    },
    zoomToLink: (id) => { const l = S.linkLayers.get(String(id)); if (l) map.fitBounds(l.getBounds(), { maxZoom: 11, padding: [80, 80] }); },
    map: map,
  };
  start();
})();
