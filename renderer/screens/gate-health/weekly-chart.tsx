import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { HealthReport } from '../../../shared/domain/reports';
import { SERIES_COLOURS } from './format';

/** Bypasses per gate per ISO week (stacked), the last 12 weeks, current week last. */
export function WeeklyBypassChart({ weekly }: { weekly: HealthReport['weekly'] }) {
  const totals = new Map<string, number>();
  for (const w of weekly) for (const [gate, n] of Object.entries(w.counts)) totals.set(gate, (totals.get(gate) ?? 0) + n);
  const gates = [...totals.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
  const data = weekly.map((w) => ({ week: w.week.slice(5), ...Object.fromEntries(gates.map((g) => [g, w.counts[g] ?? 0])) }));
  if (gates.length === 0) {
    return (
      <div className="empty">
        <strong>No bypasses in the last 12 weeks</strong>
        Rare, varied bypasses are what a healthy gate set looks like.
      </div>
    );
  }
  return (
    <div role="img" aria-label={`bypasses per gate per week: ${gates.map((g) => `${g} ${totals.get(g)}`).join(', ')}`} style={{ width: '100%', height: 260 }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: -16 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e5e9ee" />
          <XAxis dataKey="week" tick={{ fontSize: 11 }} tickLine={false} />
          <YAxis allowDecimals={false} tick={{ fontSize: 11 }} tickLine={false} axisLine={false} />
          <Tooltip cursor={{ fill: '#eff2f5' }} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {gates.map((gate, i) => (
            <Bar key={gate} dataKey={gate} stackId="bypasses" fill={SERIES_COLOURS[i % SERIES_COLOURS.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
