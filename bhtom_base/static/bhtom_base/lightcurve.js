// Lightcurve plot of a target: columnar JSON from the data endpoint, drawn with WebGL (scattergl).
// One colour per band, error bars, limits as downward triangles, inverted magnitude axis,
// time axis as date / MJD / JD, filters by source and band. window.bhtomLightcurve exposes state.
(function () {
  "use strict";
  const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                   "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39"];
  const MJD_JD = 2400000.5;
  const MJD_UNIX_MS = 40587;
  const state = { data: null, timeAxis: "date", hiddenSources: new Set(), hiddenBands: new Set(),
                  plottedPoints: 0, ready: false };
  window.bhtomLightcurve = state;

  function convertTimes(mjds, axis) {
    if (axis === "mjd") return mjds;
    if (axis === "jd") return mjds.map((t) => t + MJD_JD);
    return mjds.map((t) => new Date(Math.round((t - MJD_UNIX_MS) * 86400000)).toISOString());
  }

  function bandColours(series) {
    const colours = {};
    [...new Set(series.map((s) => s.band))].sort().forEach((band, i) => {
      colours[band] = PALETTE[i % PALETTE.length];
    });
    return colours;
  }

  function traces() {
    const colours = bandColours(state.data.series);
    const out = [];
    let count = 0;
    for (const s of state.data.series) {
      if (state.hiddenSources.has(s.source) || state.hiddenBands.has(s.band)) continue;
      const colour = colours[s.band];
      const name = s.band + (s.source ? " [" + s.source + "]" : "");
      if (s.t.length) {
        out.push({ type: "scattergl", mode: "markers", name: name, legendgroup: name,
                   x: convertTimes(s.t, state.timeAxis), y: s.mag,
                   error_y: { type: "data", array: s.err.map((e) => (e === null ? 0 : e)), visible: true,
                              color: colour, thickness: 1, width: 0 },
                   marker: { color: colour, size: 5 } });
        count += s.t.length;
      }
      if (s.lt.length) {
        out.push({ type: "scattergl", mode: "markers", name: name + " limit", legendgroup: name,
                   x: convertTimes(s.lt, state.timeAxis), y: s.lim,
                   marker: { color: colour, size: 7, symbol: "triangle-down", opacity: 0.6 } });
        count += s.lt.length;
      }
    }
    state.plottedPoints = count;
    return out;
  }

  function layout() {
    const titles = { date: "Date (UTC)", mjd: "MJD (UTC)", jd: "JD (UTC)" };
    return { margin: { l: 60, r: 20, t: 20, b: 50 }, hovermode: "closest", uirevision: state.timeAxis,
             xaxis: { title: { text: titles[state.timeAxis] }, type: state.timeAxis === "date" ? "date" : "linear" },
             yaxis: { title: { text: "Magnitude" }, autorange: "reversed" },
             legend: { orientation: "h", y: -0.2 } };
  }

  function draw() {
    const plot = document.getElementById("bhtom-lightcurve-plot");
    if (!plot || !state.data || typeof Plotly === "undefined") return;
    Plotly.react(plot, traces(), layout(), { responsive: true, displaylogo: false });
    document.getElementById("bhtom-point-count").textContent =
      state.plottedPoints + " of " + state.data.points + " points";
    state.ready = true;
  }

  function checkboxes(containerId, title, values, hidden) {
    const box = document.getElementById(containerId);
    box.replaceChildren();
    if (values.length < 2) return;
    const heading = document.createElement("strong");
    heading.textContent = title;
    box.append(heading);
    for (const value of values) {
      const label = document.createElement("label");
      label.className = "form-check-label";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.className = "form-check-input me-1";
      input.checked = !hidden.has(value);
      input.dataset.value = value;
      input.addEventListener("change", () => {
        if (input.checked) hidden.delete(value); else hidden.add(value);
        draw();
      });
      label.append(input, document.createTextNode(value));
      box.append(label);
    }
  }

  async function load() {
    const box = document.getElementById("bhtom-lightcurve-plot-box");
    if (!box) return;
    state.ready = false;
    const response = await fetch(box.dataset.url, { credentials: "same-origin",
                                                    headers: { Accept: "application/json" } });
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) {
      document.getElementById("bhtom-point-count").textContent = "Could not load the lightcurve (" + response.status + ").";
      return;
    }
    state.data = await response.json();
    checkboxes("bhtom-source-filter", "Sources:", [...new Set(state.data.series.map((s) => s.source))].sort(), state.hiddenSources);
    checkboxes("bhtom-band-filter", "Bands:", [...new Set(state.data.series.map((s) => s.band))].sort(), state.hiddenBands);
    draw();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const axis = document.getElementById("bhtom-time-axis");
    if (axis) axis.addEventListener("change", () => { state.timeAxis = axis.value; draw(); });
    load();
  });
  // The status panel (htmx) announces finished updates: reload the points.
  document.addEventListener("bhtom-lightcurve-finished", load);
  state.reload = load;
})();
