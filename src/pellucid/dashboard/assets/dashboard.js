/* pellucid explanation dashboard.
 *
 * Reads the JSON payload embedded in the page (built by pellucid.dashboard.payload) and draws every view with
 * plotly.js. No network access: plotly.js is inlined in the page. window.pellucid exposes the state for tests;
 * window.pellucidReady turns true once every chart has rendered.
 */
(function () {
  "use strict";

  // Milestones in ms since navigation start, for performance checks (window.pellucidTimings).
  const timings = { script_start: performance.now() };
  const D = unpack(JSON.parse(document.getElementById("pellucid-data").textContent));
  timings.payload_parsed = performance.now();
  const features = D.features;
  const nFeatures = features.length;
  const nShown = D.rows.length;
  const nOutputs = D.global.per_output.length;
  const hasLocal = D.local !== null;
  const hasData = D.data !== null;
  const isClassifier = D.task === "classification";
  const pred = D.prediction;
  const CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const VALUE_SCALE = [[0, "#2166ac"], [0.5, "#b2abd2"], [1, "#d6604d"]];
  const POSITIVE = "#d6604d";
  const NEGATIVE = "#4393c3";
  const GL_MIN_POINTS = 1000;
  const webgl = supportsWebGL();
  const CONFIG = { responsive: true, displaylogo: false, toImageButtonOptions: { format: "png", scale: 2 } };
  const positionOfRow = new Map(D.rows.map((row, pos) => [row, pos]));
  const overallRank = argsortDesc(D.global.overall);

  const state = {
    cls: isClassifier && nOutputs === 2 ? 1 : 0,
    globalView: isClassifier ? "overall" : 0,
    globalK: Math.min(10, nFeatures),
    localK: Math.min(10, nFeatures),
    summaryK: Math.min(10, nFeatures),
    rowPos: nShown > 0 ? 0 : null,
    dataX: "f:" + overallRank[0],
    dataY: pred ? "pred" : "f:" + overallRank[Math.min(1, nFeatures - 1)],
    depFeature: overallRank[0],
    depColor: nFeatures > 1 ? overallRank[1] : -1,
  };

  // ------------------------------------------------------------------ small helpers
  // Long numeric lists come packed (pellucid.dashboard.page.pack_payload): {"$f32": base64} little-endian float32
  // (NaN = missing; each value restored with 7 significant digits, as rounded in Python) or {"$i32": base64}.
  function unpack(node) {
    if (Array.isArray(node)) return node.map(unpack);
    if (node === null || typeof node !== "object") return node;
    const keys = Object.keys(node);
    if (keys.length === 1 && (keys[0] === "$f32" || keys[0] === "$i32")) {
      const text = atob(node[keys[0]]);
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      if (keys[0] === "$i32") return Array.from(new Int32Array(bytes.buffer));
      const floats = new Float32Array(bytes.buffer);
      const out = new Array(floats.length);
      for (let i = 0; i < floats.length; i++) {
        const v = floats[i];
        out[i] = Number.isNaN(v) ? null : Number(v.toPrecision(7));
      }
      return out;
    }
    const result = {};
    for (const key of keys) result[key] = unpack(node[key]);
    return result;
  }

  function supportsWebGL() {
    try {
      const canvas = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (canvas.getContext("webgl") || canvas.getContext("experimental-webgl")));
    } catch (err) {
      return false;
    }
  }

  function scatterType(nPoints) {
    return webgl && nPoints > GL_MIN_POINTS ? "scattergl" : "scatter";
  }

  function argsortDesc(values) {
    return values.map((v, i) => i).sort((a, b) => (values[b] - values[a]) || (a - b));
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function fmt(value) {
    if (value === null || value === undefined || Number.isNaN(value)) return "missing";
    if (typeof value !== "number") return String(value);
    if (value === 0) return "0";
    const abs = Math.abs(value);
    if (abs >= 1e5 || abs < 1e-3) return value.toExponential(3);
    return String(Number(value.toPrecision(4)));
  }

  function shorten(text, size) {
    return text.length > size ? text.slice(0, size - 1) + "\u2026" : text;
  }

  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function className(index) {
    return D.classes ? D.classes[index] : "output";
  }

  function spaceName() {
    const space = pred && pred.space ? pred.space : D.output_space;
    return { probability: "probability", log_odds: "log-odds", margin: "margin", raw: "output" }[space] || "score";
  }

  function setText(id, text) {
    byId(id).textContent = text;
  }

  function addOptions(select, options, selected) {
    for (const [value, label] of options) {
      const option = document.createElement("option");
      option.value = String(value);
      option.textContent = label;
      if (String(value) === String(selected)) option.selected = true;
      select.appendChild(option);
    }
  }

  function replaceWithMessage(selector, text) {
    for (const element of document.querySelectorAll(selector)) {
      const message = document.createElement("p");
      message.className = "message";
      message.textContent = text;
      element.replaceWith(message);
    }
  }

  // A column of values to plot: categories become jittered codes with their names as ticks.
  function encodedColumn(encoded, title, seed) {
    if (encoded.type === "num") return { values: encoded.v, text: encoded.v.map(fmt), ticks: null, title };
    const random = mulberry32(seed);
    const missingCode = encoded.cats.length;
    const codes = encoded.codes.map((c) => (c < 0 ? missingCode : c));
    const hasMissing = encoded.codes.some((c) => c < 0);
    const names = hasMissing ? encoded.cats.concat(["missing"]) : encoded.cats;
    return {
      values: codes.map((c) => c + (random() - 0.5) * 0.5),
      codes,
      text: codes.map((c) => names[c]),
      ticks: { tickvals: names.map((n, i) => i), ticktext: names.map((n) => shorten(n, 18)) },
      title: title + " (categories, jittered)",
    };
  }

  function featureColumn(j) {
    return encodedColumn(D.data[j], features[j], D.seed * 7919 + j + 1);
  }

  function featureValueText(j, pos) {
    const encoded = D.data[j];
    if (encoded.type === "num") return fmt(encoded.v[pos]);
    const code = encoded.codes[pos];
    return code < 0 ? "missing" : encoded.cats[code];
  }

  // Colour of each row for one feature, in [0, 1]: numbers clipped to their 5th-95th percentiles.
  function normalisedColours(j) {
    const encoded = D.data[j];
    if (encoded.type === "cat") {
      const top = Math.max(encoded.cats.length - 1, 1);
      return encoded.codes.map((c) => (c < 0 ? null : c / top));
    }
    const present = encoded.v.filter((v) => v !== null).sort((a, b) => a - b);
    if (present.length === 0) return encoded.v.map(() => null);
    const low = present[Math.floor(0.05 * (present.length - 1))];
    const high = present[Math.ceil(0.95 * (present.length - 1))];
    const span = high > low ? high - low : 1;
    return encoded.v.map((v) => (v === null ? null : Math.min(1, Math.max(0, (v - low) / span))));
  }

  function axisColumn(key) {
    if (key.startsWith("f:")) return featureColumn(Number(key.slice(2)));
    if (key === "pred") {
      if (!isClassifier) return { values: pred.value, text: pred.value.map(fmt), ticks: null, title: "prediction" };
      if (pred.score) {
        const scores = pred.score[state.cls];
        return { values: scores, text: scores.map(fmt), ticks: null,
                 title: spaceName() + " of class " + className(state.cls) };
      }
      key = "label";
    }
    if (key === "label") {
      return encodedColumn({ type: "cat", cats: D.classes, codes: pred.label }, "predicted class", 4099);
    }
    return encodedColumn(D.true_y, "true value", 4111);
  }

  function axisLayout(column) {
    const axis = { title: { text: column.title }, zeroline: false, automargin: true };
    if (column.ticks) Object.assign(axis, column.ticks);
    return axis;
  }

  function baseLayout(extra) {
    return Object.assign({
      margin: { l: 10, r: 10, t: 30, b: 46 },
      hovermode: "closest",
      font: { size: 12 },
      paper_bgcolor: "#ffffff",
      plot_bgcolor: "#ffffff",
      showlegend: false,
    }, extra);
  }

  // Rings around the selected row's points: layout shapes sized in pixels and anchored at data coordinates,
  // so moving them redraws only the shapes, never the (possibly WebGL) traces.
  function rings(xs, ys) {
    const shapes = [];
    xs.forEach((x, i) => {
      if (x === null || x === undefined || ys[i] === null || ys[i] === undefined) return;
      shapes.push({ type: "circle", xref: "x", yref: "y", xsizemode: "pixel", ysizemode: "pixel",
                    xanchor: x, yanchor: ys[i], x0: -8, x1: 8, y0: -8, y1: 8,
                    line: { color: "#111111", width: 2.5 } });
    });
    return shapes;
  }

  function rankFor(cls) {
    return argsortDesc(D.global.per_output[cls]);
  }

  // ------------------------------------------------------------------ header
  function drawHeader() {
    const parts = [D.method, D.task];
    if (isClassifier) parts.push(nOutputs + " classes");
    parts.push(nFeatures + " " + (D.is_raw ? "raw" : "engineered") + " features");
    parts.push(hasLocal ? D.n_rows.toLocaleString("en-US") + " rows explained" : "global-only explanation");
    if (D.output_space) parts.push("output space: " + D.output_space);
    if (pred) parts.push("predictions from " + { model: "the model", model_output: "the explanation's model output",
                                                  additivity: "expected value + sum of local values" }[pred.source]);
    setText("summary-line", parts.join(" \u00b7 "));
    // The class selector drives the local views, and the data view's class scores: show it only when used.
    if (isClassifier && (hasLocal || (hasData && pred && pred.score))) {
      byId("class-control").hidden = false;
      addOptions(byId("class-select"), D.classes.map((c, i) => [i, c]), state.cls);
      byId("class-select").addEventListener("change", (event) => setClass(Number(event.target.value)));
    }
    if (D.sampled) {
      const text = "showing " + nShown.toLocaleString("en-US") + " of " + D.n_rows.toLocaleString("en-US") + " rows";
      const note = byId("sample-note");
      note.hidden = false;
      note.textContent = text[0].toUpperCase() + text.slice(1) + " in the point views (uniform sample, seed " +
        D.seed + "); global importance uses every row.";
      for (const caption of document.querySelectorAll(".sample-caption")) {
        caption.hidden = false;
        caption.textContent = text;
      }
    }
    if (!webgl && nShown > GL_MIN_POINTS) D.notes.push("dashboard: WebGL is unavailable in this browser; " +
                                                        "large scatters are drawn with SVG (slower)");
    if (D.notes.length) {
      byId("notes").hidden = false;
      for (const text of D.notes) {
        const item = document.createElement("li");
        item.textContent = text;
        byId("notes-list").appendChild(item);
      }
    }
  }

  // ------------------------------------------------------------------ global importance
  function drawGlobal() {
    const values = state.globalView === "overall" ? D.global.overall : D.global.per_output[state.globalView];
    const top = argsortDesc(values).slice(0, state.globalK);
    const what = hasLocal ? "mean |local value|" : "importance";
    const suffix = !isClassifier ? "" : state.globalView === "overall" ? " (mean over classes)" :
      " for class " + className(state.globalView);
    setText("global-k-value", String(state.globalK));
    return Plotly.react("chart-global", [{
      type: "bar", orientation: "h", name: "global importance",
      x: top.map((j) => values[j]), y: top.map((j, i) => i), customdata: top,
      text: top.map((j) => features[j]), textposition: "none",
      hovertemplate: "%{text}: %{x}<extra></extra>", marker: { color: "#2f6fbd" },
    }], baseLayout({
      height: Math.max(320, 20 * top.length + 90),
      xaxis: { title: { text: what + suffix }, zeroline: true, automargin: true },
      yaxis: { tickvals: top.map((j, i) => i), ticktext: top.map((j) => shorten(features[j], 28)),
               autorange: "reversed", automargin: true },
    }), CONFIG);
  }

  // ------------------------------------------------------------------ local importance
  function localValues(pos, cls) {
    return D.local[cls].map((column) => column[pos]);
  }

  function describePrediction(pos) {
    if (!pred) return "no prediction available";
    if (!isClassifier) return "prediction " + fmt(pred.value[pos]);
    let text = "predicted class " + className(pred.label[pos]);
    if (pred.score) text += " \u00b7 " + spaceName() + " of class " + className(state.cls) + ": " +
      fmt(pred.score[state.cls][pos]);
    return text;
  }

  function drawLocal() {
    const pos = state.rowPos;
    const values = localValues(pos, state.cls);
    const top = argsortDesc(values.map(Math.abs)).slice(0, state.localK);
    const labels = top.map((j) => shorten(features[j], 24) + (hasData ? " = " + shorten(featureValueText(j, pos), 12) : ""));
    const total = values.reduce((a, b) => a + b, 0);
    const expected = D.expected ? D.expected[state.cls] : null;
    setText("local-k-value", String(state.localK));
    byId("local-row").value = String(D.rows[pos]);
    setText("local-row-label", "Row " + D.rows[pos]);
    setText("local-prediction", describePrediction(pos));
    setText("local-true", D.true_y ? "true value " + (D.true_y.type === "num" ? fmt(D.true_y.v[pos]) :
      (D.true_y.codes[pos] < 0 ? "missing" : D.true_y.cats[D.true_y.codes[pos]])) : "");
    setText("local-expected", expected === null ? "expected value unknown" :
      "expected value " + fmt(expected) + " + sum of local values " + fmt(total) + " = " + fmt(expected + total) +
      (isClassifier ? " (class " + className(state.cls) + ")" : ""));
    return Plotly.react("chart-local", [{
      type: "bar", orientation: "h", name: "local importance",
      x: top.map((j) => values[j]), y: top.map((j, i) => i), customdata: top,
      text: top.map((j) => features[j]), textposition: "none",
      hovertemplate: "%{text}: %{x}<extra></extra>",
      marker: { color: top.map((j) => (values[j] >= 0 ? POSITIVE : NEGATIVE)) },
    }], baseLayout({
      height: Math.max(320, 20 * top.length + 90),
      xaxis: { title: { text: "local value" + (isClassifier ? " for class " + className(state.cls) : "") },
               zeroline: true, zerolinecolor: "#888888", automargin: true },
      yaxis: { tickvals: top.map((j, i) => i), ticktext: labels, autorange: "reversed", automargin: true },
    }), CONFIG);
  }

  // ------------------------------------------------------------------ data exploration
  function dataTraces() {
    const xColumn = axisColumn(state.dataX);
    const yColumn = axisColumn(state.dataY);
    const groups = [];
    if (pred && isClassifier) {
      for (let c = 0; c < nOutputs; c++) groups.push({ name: "predicted " + className(c), color: CLASS_COLORS[c % 10], rows: [] });
      pred.label.forEach((label, pos) => groups[label].rows.push(pos));
    } else {
      groups.push({ name: "rows", rows: D.rows.map((row, pos) => pos) });
    }
    const type = scatterType(nShown);
    const traces = groups.filter((g) => g.rows.length > 0).map((group) => {
      const marker = { size: 5, opacity: 0.75, color: group.color || "#2f6fbd" };
      if (pred && !isClassifier) {
        Object.assign(marker, { color: group.rows.map((p) => pred.value[p]), colorscale: "Viridis", showscale: true,
                                colorbar: { title: { text: "prediction", side: "right" }, thickness: 12 } });
      }
      return {
        type, mode: "markers", name: group.name, marker,
        x: group.rows.map((p) => xColumn.values[p]), y: group.rows.map((p) => yColumn.values[p]),
        customdata: group.rows.map((p) => D.rows[p]),
        text: group.rows.map((p) => "row " + D.rows[p] + "<br>" + xColumn.title + ": " + xColumn.text[p] +
          "<br>" + yColumn.title + ": " + yColumn.text[p]),
        hovertemplate: "%{text}<extra>%{fullData.name}</extra>",
      };
    });
    const pos = state.rowPos;
    return { traces, layout: baseLayout({ shapes: rings([xColumn.values[pos]], [yColumn.values[pos]]), showlegend: isClassifier && !!pred, legend: { orientation: "h", y: 1.08 },
                                          xaxis: axisLayout(xColumn), yaxis: axisLayout(yColumn),
                                          margin: { l: 10, r: 10, t: 40, b: 46 } }) };
  }

  function drawData() {
    const figure = dataTraces();
    return Plotly.react("chart-data", figure.traces, figure.layout, CONFIG);
  }

  // ------------------------------------------------------------------ dependence
  function drawDependence() {
    const j = state.depFeature;
    const xColumn = featureColumn(j);
    const yValues = D.local[state.cls][j];
    const marker = { size: 5, opacity: 0.8, color: "#2f6fbd" };
    let colourText = null;
    if (state.depColor >= 0) {
      const colourColumn = D.data[state.depColor];
      const name = features[state.depColor];
      colourText = D.rows.map((row, p) => name + " = " + featureValueText(state.depColor, p));
      if (colourColumn.type === "num") {
        Object.assign(marker, { color: colourColumn.v, colorscale: VALUE_SCALE, showscale: true,
                                colorbar: { title: { text: shorten(name, 20), side: "right" }, thickness: 12 } });
      } else {
        const top = Math.max(colourColumn.cats.length - 1, 1);
        Object.assign(marker, { color: colourColumn.codes.map((c) => (c < 0 ? null : c)), cmin: 0, cmax: top,
                                colorscale: VALUE_SCALE, showscale: true,
                                colorbar: { title: { text: shorten(name, 20), side: "right" }, thickness: 12,
                                            tickvals: colourColumn.cats.map((c, i) => i),
                                            ticktext: colourColumn.cats.map((c) => shorten(c, 14)) } });
      }
    }
    const type = scatterType(nShown);
    const pos = state.rowPos;
    const traces = [{
      type, mode: "markers", name: "dependence", marker, x: xColumn.values, y: yValues,
      customdata: D.rows,
      text: D.rows.map((row, p) => "row " + row + "<br>" + features[j] + " = " + xColumn.text[p] +
        "<br>local value: " + fmt(yValues[p]) + (colourText ? "<br>" + colourText[p] : "")),
      hovertemplate: "%{text}<extra></extra>",
    }];
    return Plotly.react("chart-dependence", traces, baseLayout({
      shapes: rings([xColumn.values[pos]], [yValues[pos]]),
      xaxis: axisLayout(xColumn),
      yaxis: { title: { text: "local value of " + shorten(features[j], 24) +
                        (isClassifier ? " (class " + className(state.cls) + ")" : "") },
               zeroline: true, zerolinecolor: "#888888", automargin: true },
    }), CONFIG);
  }

  // ------------------------------------------------------------------ summary (beeswarm)
  function swarmOffsets(values, seed) {
    // Vertical spread proportional to how many points share a value bin, so dense regions look wide.
    const present = values.filter((v) => v !== null);
    const low = Math.min(...present);
    const high = Math.max(...present);
    const bins = 48;
    const width = high > low ? (high - low) / bins : 1;
    const counts = new Array(bins).fill(0);
    const binOf = values.map((v) => (v === null ? 0 : Math.min(bins - 1, Math.floor((v - low) / width))));
    for (const b of binOf) counts[b] += 1;
    const most = Math.max(...counts);
    const random = mulberry32(seed);
    return binOf.map((b) => 0.42 * (counts[b] / most) * (2 * random() - 1));
  }

  function summaryFeatures() {
    return rankFor(state.cls).slice(0, state.summaryK);
  }

  function drawSummary() {
    const top = summaryFeatures();
    const x = [];
    const y = [];
    const colour = [];
    const customdata = [];
    const text = [];
    top.forEach((j, rank) => {
      const values = D.local[state.cls][j];
      const offsets = swarmOffsets(values, D.seed * 104729 + j + 1);
      const colours = hasData ? normalisedColours(j) : null;
      for (let p = 0; p < nShown; p++) {
        x.push(values[p]);
        y.push(rank + offsets[p]);
        colour.push(colours ? colours[p] : 0.5);
        customdata.push(D.rows[p]);
        text.push("row " + D.rows[p] + "<br>" + features[j] + (hasData ? " = " + featureValueText(j, p) : "") +
          "<br>local value: " + fmt(values[p]));
      }
    });
    const marker = { size: 4, opacity: 0.7, color: colour, cmin: 0, cmax: 1, colorscale: VALUE_SCALE,
                     showscale: hasData, colorbar: { title: { text: "feature value", side: "right" }, thickness: 12,
                                                     tickvals: [0, 1], ticktext: ["low", "high"] } };
    const type = scatterType(x.length);
    setText("summary-k-value", String(state.summaryK));
    const selected = summaryHighlight(top);
    return Plotly.react("chart-summary", [
      { type, mode: "markers", name: "summary", x, y, customdata, text, marker,
        hovertemplate: "%{text}<extra></extra>" },
    ], baseLayout({
      shapes: rings(selected.x, selected.y),
      height: Math.max(320, 36 * top.length + 90),
      xaxis: { title: { text: "local value" + (isClassifier ? " for class " + className(state.cls) : "") },
               zeroline: true, zerolinecolor: "#888888", automargin: true },
      yaxis: { tickvals: top.map((j, i) => i), ticktext: top.map((j) => shorten(features[j], 28)),
               autorange: "reversed", automargin: true, zeroline: false },
    }), CONFIG);
  }

  function summaryHighlight(top) {
    return { x: top.map((j) => D.local[state.cls][j][state.rowPos]), y: top.map((j, rank) => rank) };
  }

  // ------------------------------------------------------------------ interaction
  function refreshHighlights() {
    const pos = state.rowPos;
    const updates = [];
    if (hasData) {
      const xColumn = axisColumn(state.dataX);
      const yColumn = axisColumn(state.dataY);
      updates.push(Plotly.relayout("chart-data", { shapes: rings([xColumn.values[pos]], [yColumn.values[pos]]) }));
      if (hasLocal) {
        const xs = featureColumn(state.depFeature).values;
        updates.push(Plotly.relayout("chart-dependence",
                                     { shapes: rings([xs[pos]], [D.local[state.cls][state.depFeature][pos]]) }));
      }
    }
    if (hasLocal) {
      const selected = summaryHighlight(summaryFeatures());
      updates.push(Plotly.relayout("chart-summary", { shapes: rings(selected.x, selected.y) }));
    }
    return Promise.all(updates);
  }

  function setRow(row) {
    const pos = positionOfRow.get(Number(row));
    if (pos === undefined) {
      setText("local-row-message", "row " + row + " is not among the " + nShown.toLocaleString("en-US") +
        " rows shown");
      return Promise.resolve(false);
    }
    setText("local-row-message", "");
    state.rowPos = pos;
    return Promise.all([drawLocal(), refreshHighlights()]).then(() => true);
  }

  function setClass(cls) {
    state.cls = cls;
    byId("class-select").value = String(cls);
    const redraws = [];
    if (hasLocal) redraws.push(drawLocal(), drawSummary());
    if (hasLocal && hasData) redraws.push(drawDependence());
    if (hasData && pred) redraws.push(drawData());
    return Promise.all(redraws);
  }

  function onPointClick(event) {
    const point = event && event.points && event.points[0];
    if (!point || point.customdata === undefined) return;
    if (hasLocal) setRow(point.customdata);
  }

  function bindSlider(id, key, draw) {
    const slider = byId(id);
    slider.max = String(nFeatures);
    slider.value = String(state[key]);
    slider.addEventListener("input", () => {
      state[key] = Number(slider.value);
      draw();
    });
  }

  function setupControls() {
    bindSlider("global-k", "globalK", drawGlobal);
    if (isClassifier) {
      byId("global-class-control").hidden = false;
      addOptions(byId("global-class"), [["overall", "overall (mean over classes)"]]
        .concat(D.classes.map((c, i) => [i, "class " + c])), state.globalView);
      byId("global-class").addEventListener("change", (event) => {
        state.globalView = event.target.value === "overall" ? "overall" : Number(event.target.value);
        drawGlobal();
      });
    }
    const featureOptions = overallRank.map((j) => [j, features[j]]);
    if (hasLocal) {
      bindSlider("local-k", "localK", drawLocal);
      bindSlider("summary-k", "summaryK", () => drawSummary());
      byId("local-row").max = String(D.n_rows - 1);
      byId("local-row").addEventListener("change", (event) => setRow(event.target.value));
    }
    if (hasData) {
      const axes = featureOptions.map(([j, name]) => ["f:" + j, name]);
      if (pred) axes.unshift(["pred", "prediction"]);
      if (pred && isClassifier) axes.splice(1, 0, ["label", "predicted class"]);
      if (D.true_y) axes.push(["true", "true value"]);
      addOptions(byId("data-x"), axes, state.dataX);
      addOptions(byId("data-y"), axes, state.dataY);
      byId("data-x").addEventListener("change", (event) => { state.dataX = event.target.value; drawData(); });
      byId("data-y").addEventListener("change", (event) => { state.dataY = event.target.value; drawData(); });
    }
    if (hasData && hasLocal) {
      addOptions(byId("dep-feature"), featureOptions, state.depFeature);
      addOptions(byId("dep-color"), [[-1, "(none)"]].concat(featureOptions), state.depColor);
      byId("dep-feature").addEventListener("change", (event) => {
        state.depFeature = Number(event.target.value);
        drawDependence();
      });
      byId("dep-color").addEventListener("change", (event) => {
        state.depColor = Number(event.target.value);
        drawDependence();
      });
    }
  }

  function prepareLocalPanel() {
    const info = byId("local-info");
    for (const id of ["local-row-label", "local-prediction", "local-true", "local-expected", "local-row-message"]) {
      const span = document.createElement("span");
      span.id = id;
      info.appendChild(span);
    }
  }

  function start() {
    drawHeader();
    if (!hasLocal) {
      replaceWithMessage(".needs-local", "Local views need local importance values: this " + D.method +
        " explanation is global-only. Explain the rows with a local method (explain_local) to see the local, " +
        "dependence and summary views.");
    } else {
      prepareLocalPanel();
    }
    if (!hasData || nShown === 0) {
      replaceWithMessage(".needs-data", "This view needs the explained rows: pass dataset= to the dashboard " +
        "(or --data to `pellucid dashboard`), or explain with evaluation data kept in the explanation.");
    }
    setupControls();
    const timed = (name, draw) => {
      const drawn = draw();
      timings[name] = performance.now();  // plotly draws synchronously; the promise settles afterwards
      return drawn;
    };
    const renders = [timed("global", drawGlobal)];
    if (hasLocal) renders.push(timed("local", drawLocal), timed("summary", drawSummary));
    if (hasData && nShown > 0) renders.push(timed("data", drawData));
    if (hasData && hasLocal) renders.push(timed("dependence", drawDependence));
    return Promise.all(renders).then(() => {
      for (const id of ["chart-data", "chart-dependence", "chart-summary"]) {
        const chart = byId(id);
        if (chart && chart.on) chart.on("plotly_click", onPointClick);
      }
    });
  }

  window.pellucidTimings = timings;
  window.pellucid = { payload: D, state, setRow, setClass, webgl,
                      redraw: { global: drawGlobal, local: drawLocal, data: drawData,
                                dependence: drawDependence, summary: drawSummary } };
  start().then(() => {
    window.pellucidReadyMs = performance.now();
    window.pellucidReady = true;
    document.body.setAttribute("data-pellucid-ready", "true");
  }).catch((err) => {
    window.pellucidError = String(err && err.stack ? err.stack : err);
    const banner = document.createElement("p");
    banner.className = "message";
    banner.textContent = "The dashboard failed to draw: " + err;
    document.body.prepend(banner);
  });
})();
