// @ts-check
/**
 * The daily activity chart, drawn by the vendored Chart.js (static/vendor/chartjs, loaded
 * as a classic script before this module, so it is `window.Chart`). No animation: figures
 * should appear at once and screenshots should be stable.
 */

/** @typedef {{ day: string, transactions: number, logins: number }} Day */

/** @type {{ destroy(): void } | null} */
let current = null;

/**
 * @param {HTMLCanvasElement} canvas
 * @param {Day[]} activity one entry per day, oldest first
 * @returns {boolean} whether a chart was drawn
 */
export function drawActivity(canvas, activity) {
  const Chart = /** @type {any} */ (window).Chart;
  if (typeof Chart !== "function") return false;
  current?.destroy();
  const short = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  current = new Chart(canvas, {
    type: "bar",
    data: {
      labels: activity.map((d) => short.format(new Date(`${d.day}T00:00:00Z`))),
      datasets: [
        {
          type: "bar",
          label: "Transactions",
          data: activity.map((d) => d.transactions),
          backgroundColor: "rgba(11, 92, 173, 0.75)",
          borderRadius: 3,
          yAxisID: "y",
        },
        {
          type: "line",
          label: "Logins",
          data: activity.map((d) => d.logins),
          borderColor: "#e07b00",
          backgroundColor: "#e07b00",
          pointRadius: 0,
          tension: 0.3,
          cubicInterpolationMode: "monotone",
          yAxisID: "logins",
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
        y: { beginAtZero: true, title: { display: true, text: "Transactions" } },
        logins: {
          position: "right",
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: "Logins" },
        },
      },
    },
  });
  return true;
}

/**
 * Remove the chart and wipe the canvas's pixels.
 * @param {HTMLCanvasElement | null} canvas
 */
export function clearActivity(canvas) {
  current?.destroy();
  current = null;
  if (canvas) canvas.getContext("2d")?.clearRect(0, 0, canvas.width, canvas.height);
}
