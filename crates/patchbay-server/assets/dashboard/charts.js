// Hourly figures as accessible SVG charts: a description that sums them up, and a table of
// every figure.

import { h, s, table, when } from './dom.js';

/**
 * A bar chart of hourly counts as accessible SVG: `series` ([{key, label, className}]) stack
 * in each hour's bar; the description sums them up and a table gives every figure.
 */
export function hourlyChart(id, title, hours, series) {
  const width = 720;
  const height = 160;
  const top = 10;
  const bottom = 24;
  const total = (hour) => series.reduce((sum, { key }) => sum + hour[key], 0);
  const most = Math.max(1, ...hours.map(total));
  const step = width / hours.length;
  const scale = (count) => (count / most) * (height - top - bottom);
  const sums = series.map(({ key, label }) => `${hours.reduce((sum, hour) => sum + hour[key], 0)} ${label.toLowerCase()}`);
  const summary = `${title} over the last ${hours.length} hours: ${sums.join(', ')}; at most ${most} in one hour.`;
  const bars = hours.flatMap((hour, i) => {
    const x = i * step + 2;
    let base = height - bottom;
    const stacked = series.map(({ key, className }) => {
      const tall = scale(hour[key]);
      base -= tall;
      return s('rect', { class: className, x, y: base, width: step - 4, height: tall });
    });
    const label = i % 3 === 0 ? s('text', { x: x + (step - 4) / 2, y: height - 8, 'text-anchor': 'middle' }, `${new Date(hour.hour).getHours()}h`) : null;
    return [...stacked, label];
  });
  return h('figure', {},
    h('figcaption', { id: `${id}-title` }, title),
    s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc` },
      s('desc', { id: `${id}-desc` }, summary),
      s('line', { class: 'axis', x1: 0, x2: width, y1: height - bottom, y2: height - bottom }),
      bars),
    h('div', { class: 'legend' }, series.map(({ label, className }) => h('span', { class: className }, label))),
    h('details', {}, h('summary', {}, `${title} as a table`),
      table(title, ['Hour', ...series.map(({ label }) => ({ text: label, num: true }))],
        hours.map((hour) => [when(hour.hour), ...series.map(({ key }) => hour[key])]))));
}

/** Each integration's proxied calls (those that failed on top) and failed refreshes. */
export function usageCharts(usage) {
  const used = usage.filter((integration) => integration.hours.some((hour) => hour.proxyCalls || hour.refreshFailures));
  if (used.length === 0) return h('p', { class: 'muted' }, 'No call through the Proxy API and no failed token refresh in the last 24 hours.');
  return used.map((integration) => {
    const hours = integration.hours.map((hour) => ({ ...hour, answered: hour.proxyCalls - hour.proxyErrors }));
    return [
      hourlyChart(`proxy-${integration.integration}`, `${integration.name}: proxied calls per hour`, hours, [
        { key: 'answered', label: 'Answered', className: 'succeeded' },
        { key: 'proxyErrors', label: 'Errors', className: 'failed' },
      ]),
      hours.some((hour) => hour.refreshFailures)
        ? hourlyChart(`refresh-${integration.integration}`, `${integration.name}: failed token refreshes per hour`, hours, [
          { key: 'refreshFailures', label: 'Failed refreshes', className: 'failed' },
        ])
        : null,
    ];
  });
}
