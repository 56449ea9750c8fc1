// Report charts: each <canvas data-chart="ID"> is drawn with Chart.js (static/vendor/chartjs)
// from the JSON in <script type="application/json" id="ID"> ({{ data|json_script:"ID" }}).
// Every chart has a table with the same numbers beside it, so without JavaScript nothing is
// lost. Charts do not rely on colour: lines differ by point shape and dash pattern (shown in
// the legend), and bars carry their value as a label.
// Languages: the labels and series' names come translated in the JSON (no gettext here); the
// numbers, percentages and money are formatted with Intl in the page's language (<html lang>).
(function () {
  "use strict";

  const LANGUAGE = document.documentElement.lang || "en";
  const NUMBER = new Intl.NumberFormat(LANGUAGE, { maximumFractionDigits: 2 });

  const COLOURS = ["#2454d6", "#b3261e", "#157f3b", "#a15c00", "#6b3fa0"];
  const POINTS = ["circle", "triangle", "rect", "rectRot", "star"];
  const DASHES = [[], [8, 4], [2, 3], [12, 3, 2, 3], [4, 4]];
  const MAX_LABELLED_BARS = 40;

  // Money reads as the pages show it ("$1,234.50", "₽12.30" in English; "1 234,50 $",
  // "12,30 ₽" in Russian): the language puts the currency's sign.
  function moneyFormat(currency) {
    try {
      return new Intl.NumberFormat(LANGUAGE, { style: "currency", currency, currencyDisplay: "narrowSymbol" });
    } catch (_error) {
      return null; // no currency given: the plain number
    }
  }

  function shown(raw, unit, money) {
    if (raw === null || raw === undefined) return "";
    if (unit === "percent") return NUMBER.format(Number(raw)) + "\u00a0%"; // "12,5 %" in Russian
    if (unit === "money" && money) return money.format(Number(raw));
    if (unit === "count") return NUMBER.format(Number(raw));
    return String(raw);
  }

  // Writes each bar's value beside it (the numbers stay readable in greyscale and print).
  const valueLabels = {
    id: "valueLabels",
    afterDatasetsDraw(chart, _args, options) {
      if (!options || !options.enabled) return;
      const ctx = chart.ctx;
      const horizontal = chart.options.indexAxis === "y";
      ctx.save();
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillStyle = "#1d2330";
      chart.data.datasets.forEach((dataset, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach((bar, j) => {
          const raw = dataset.raw[j];
          if (raw === null || Number(raw) === 0) return;
          const text = shown(raw, options.unit, options.money);
          if (horizontal) {
            ctx.textAlign = "left";
            ctx.textBaseline = "middle";
            ctx.fillText(text, bar.x + 4, bar.y);
          } else {
            ctx.textAlign = "center";
            ctx.textBaseline = "bottom";
            ctx.fillText(text, bar.x, bar.y - 3);
          }
        });
      });
      ctx.restore();
    },
  };

  function config(spec) {
    const line = spec.kind === "line";
    const horizontal = spec.kind === "hbar";
    const datasets = spec.series.map((series, i) => {
      const colour = COLOURS[i % COLOURS.length];
      return {
        label: series.label,
        raw: series.values,
        data: series.values.map((v) => (v === null ? null : Number(v))),
        borderColor: colour,
        backgroundColor: line ? colour : colour + "cc",
        borderWidth: line ? 2 : 1,
        borderDash: line ? DASHES[i % DASHES.length] : [],
        pointStyle: POINTS[i % POINTS.length],
        pointRadius: line ? 5 : 0,
        pointHoverRadius: line ? 7 : 0,
        maxBarThickness: 96, // one day alone stays a bar, not a block across the chart
        spanGaps: true,
      };
    });
    const bars = spec.labels.length;
    const labelled = !line && bars <= MAX_LABELLED_BARS;
    const money = spec.unit === "money" ? moneyFormat(spec.currency) : null;
    const valueAxis = {
      beginAtZero: true,
      ticks: { callback: (value) => shown(value, spec.unit, money) },
    };
    if (spec.unit === "percent") valueAxis.max = 100;
    if (spec.unit === "count") valueAxis.ticks.precision = 0;
    return {
      type: line ? "line" : "bar",
      data: { labels: spec.labels, datasets },
      options: {
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        aspectRatio: horizontal ? Math.max(1, 3 - Math.max(0, bars - 3) * 0.25) : 2,
        layout: { padding: { top: labelled && !horizontal ? 18 : 4, right: labelled && horizontal ? 56 : 8 } },
        scales: horizontal ? { x: valueAxis } : { y: valueAxis },
        plugins: {
          legend: { display: spec.series.length > 1, labels: { usePointStyle: true } },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${shown(item.dataset.raw[item.dataIndex], spec.unit, money)}`,
            },
          },
          valueLabels: { enabled: labelled, unit: spec.unit, money },
        },
      },
      plugins: [valueLabels],
    };
  }

  function draw() {
    if (typeof window.Chart === "undefined") return; // the tables are there anyway
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      const spec = JSON.parse(source.textContent);
      if (!spec.labels.length) {
        canvas.closest("figure").classList.add("empty");
        return;
      }
      new window.Chart(canvas, config(spec));
      canvas.dataset.drawn = "true";
    });
  }

  // Editing a day means a custom period.
  function followDates() {
    const form = document.getElementById("report-filters");
    if (!form) return;
    form.addEventListener("change", (event) => {
      if (event.target.type === "date" && form.elements.range) form.elements.range.value = "custom";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    draw();
    followDates();
  });
})();
