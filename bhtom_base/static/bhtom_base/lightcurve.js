// Lightcurve plot of a target: columnar JSON from the data endpoint, drawn with WebGL (scattergl).
// Colour by physical band (the server's documented palette), marker shape by survey, error bars,
// limits as downward triangles, inverted magnitude axis, time axis as date / MJD / JD with full
// numbers, hover with date, MJD, magnitude ± error, band and survey; filters by survey and band.
// Loaded with `async`: it starts fetching at once and draws as soon as plotly.js has arrived,
// whatever other (external) scripts of the page do. window.bhtomLightcurve exposes the state.
(function () {
  "use strict";
  const MJD_JD = 2400000.5;
  const MJD_UNIX = 40587;
  const AXIS_TITLES = { date: "Date (UTC)", mjd: "MJD (UTC)", jd: "JD (UTC)" };
  const state = { data: null, timeAxis: "date", hiddenSources: new Set(), hiddenBands: new Set(),
                  plottedPoints: 0, ready: false, loads: 0 };
  window.bhtomLightcurve = state;

  const byId = (id) => document.getElementById(id);

  function isoDate(mjd) {
    return new Date(Math.round((mjd - MJD_UNIX) * 86400000)).toISOString().replace("T", " ").replace("Z", "");
  }

  function convertTimes(mjds, axis) {
    if (axis === "mjd") return mjds;
    if (axis === "jd") return mjds.map((t) => t + MJD_JD);
    return mjds.map(isoDate);
  }

  // The date to the nearest second (the JSON's times are good to 0.09 s).
  function hoverDate(mjd) {
    return new Date(Math.round((mjd - MJD_UNIX) * 86400) * 1000).toISOString().slice(0, 19).replace("T", " ");
  }

  // Hover text columns computed once per load: full date, MJD, error, band, survey.
  function prepare(series) {
    for (const s of series) {
      s.cd = s.t.map((t, i) => [hoverDate(t), t.toFixed(5), s.err[i] === null ? "?" : s.err[i].toFixed(3),
                                s.band_label, s.survey]);
      s.lcd = s.lt.map((t) => [hoverDate(t), t.toFixed(5), "", s.band_label, s.survey]);
    }
  }

  const HOVER = "%{customdata[0]} UTC<br>MJD %{customdata[1]}<br><b>%{y:.3f} ± %{customdata[2]} mag</b>" +
                "<br>%{customdata[3]} band · %{customdata[4]}<extra></extra>";
  const LIMIT_HOVER = "%{customdata[0]} UTC<br>MJD %{customdata[1]}<br><b>fainter than %{y:.2f} mag</b> (limit)" +
                      "<br>%{customdata[3]} band · %{customdata[4]}<extra></extra>";

  function visible(s) {
    return !state.hiddenSources.has(s.source) && !state.hiddenBands.has(s.band_label);
  }

  function traces() {
    const out = [];
    let count = 0;
    for (const s of state.data.series) {
      if (!visible(s)) continue;
      const name = s.survey + " " + s.band_label;
      if (s.t.length) {
        out.push({ type: "scattergl", mode: "markers", name: name, legendgroup: name, showlegend: true,
                   x: convertTimes(s.t, state.timeAxis), y: s.mag, customdata: s.cd, hovertemplate: HOVER,
                   error_y: { type: "data", array: s.err.map((e) => (e === null ? 0 : e)), visible: true,
                              color: s.colour, thickness: 1, width: 0 },
                   marker: { color: s.colour, size: 7, symbol: s.symbol },
                   meta: { source: s.source, band: s.band_label } });
        count += s.t.length;
      }
      if (s.lt.length) {
        out.push({ type: "scattergl", mode: "markers", name: name + " limit", legendgroup: name,
                   showlegend: !s.t.length, x: convertTimes(s.lt, state.timeAxis), y: s.lim, customdata: s.lcd,
                   hovertemplate: LIMIT_HOVER,
                   marker: { color: s.colour, size: 7, symbol: "triangle-down", opacity: 0.6 },
                   meta: { source: s.source, band: s.band_label } });
        count += s.lt.length;
      }
    }
    state.plottedPoints = count;
    return out;
  }

  function layout() {
    const bands = [...new Set(state.data.series.filter(visible).map((s) => s.band_label))];
    const numeric = state.timeAxis !== "date";
    return {
      margin: { l: 64, r: 16, t: 10, b: 48 }, hovermode: "closest", uirevision: state.timeAxis,
      hoverlabel: { namelength: -1, align: "left" },
      xaxis: { title: { text: AXIS_TITLES[state.timeAxis] }, type: numeric ? "linear" : "date",
               exponentformat: "none", tickformat: numeric ? "~f" : "",
               hoverformat: numeric ? ".5f" : "", automargin: true },
      yaxis: { title: { text: bands.length === 1 ? "Magnitude (" + bands[0] + " band)" : "Magnitude" },
               autorange: "reversed", exponentformat: "none", automargin: true },
      showlegend: true,
      legend: { orientation: "v", x: 1.01, xanchor: "left", y: 1, font: { size: 12 } },
    };
  }

  function showEmpty(empty) {
    byId("bhtom-lightcurve-empty").hidden = !empty;
    byId("bhtom-lightcurve-plot").hidden = empty;
    byId("bhtom-lightcurve-controls").hidden = empty;
  }

  function draw() {
    const plot = byId("bhtom-lightcurve-plot");
    if (!plot || !state.data || typeof Plotly === "undefined") return;
    if (state.data.points === 0) {
      showEmpty(true);
      state.ready = true;
      return;
    }
    showEmpty(false);
    Plotly.react(plot, traces(), layout(), { responsive: true, displaylogo: false });
    byId("bhtom-point-count").textContent = state.plottedPoints + " of " + state.data.points + " points";
    state.ready = true;
  }

  function checkboxes(containerId, title, entries, hidden) {
    const box = byId(containerId);
    box.replaceChildren();
    if (entries.length < 2) return;
    const heading = document.createElement("strong");
    heading.textContent = title;
    box.append(heading);
    for (const [value, text, colour] of entries) {
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
      label.append(input, document.createTextNode(text));
      if (colour) label.style.color = colour;
      box.append(label);
    }
  }

  async function load() {
    const box = byId("bhtom-lightcurve-plot-box");
    if (!box) return;
    state.ready = false;
    let response;
    try {
      response = await fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (error) {
      byId("bhtom-point-count").textContent = "Could not load the lightcurve (" + error + ").";
      return;
    }
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) {
      byId("bhtom-point-count").textContent = "Could not load the lightcurve (" + response.status + ").";
      return;
    }
    const data = await response.json();
    prepare(data.series);
    state.data = data;
    state.loads += 1;
    const surveys = new Map(data.series.map((s) => [s.source, s.survey]));
    checkboxes("bhtom-source-filter", "Surveys:", [...surveys].sort((a, b) => a[1].localeCompare(b[1]))
      .map(([source, survey]) => [source, survey]), state.hiddenSources);
    const bands = new Map(data.series.map((s) => [s.band_label, s.colour]));
    checkboxes("bhtom-band-filter", "Bands:", [...bands].sort().map(([band, colour]) => [band, band, colour]),
               state.hiddenBands);
    draw();
  }

  function start() {
    const axis = byId("bhtom-time-axis");
    if (axis) axis.addEventListener("change", () => { state.timeAxis = axis.value; draw(); });
    load();
    if (typeof Plotly === "undefined") {
      const script = byId("bhtom-plotly-js");
      if (script) script.addEventListener("load", draw);
    }
  }

  // The status panel (htmx) announces finished updates: reload the points (zoom and pan are kept).
  document.addEventListener("bhtom-lightcurve-finished", load);
  state.reload = load;
  if (byId("bhtom-lightcurve-plot-box")) start(); else document.addEventListener("DOMContentLoaded", start);
})();
