/** Tiny dependency-free SVG charts for the admin usage view. */

export interface Series {
  name: string;
  values: (number | null)[];
}

const COLORS = ['#2962ff', '#e0263a', '#12a150', '#f29d0c', '#8e44ad', '#16a5b8', '#c2185b', '#6d4c41'];

export function color(i: number): string {
  return COLORS[i % COLORS.length];
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** Grouped bars (`kind="bar"`) or lines over category labels (dates / api ids). */
export function SvgChart({
  labels,
  series,
  kind = 'bar',
  testId,
  unit = '',
  max: fixedMax,
  height = 180,
}: {
  labels: string[];
  series: Series[];
  kind?: 'bar' | 'line';
  testId: string;
  unit?: string;
  max?: number;
  height?: number;
}) {
  const width = 600;
  const pad = { left: 44, right: 8, top: 8, bottom: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = fixedMax ?? niceMax(Math.max(0, ...all));
  const slot = labels.length ? innerW / labels.length : innerW;
  const y = (v: number) => pad.top + innerH - (v / max) * innerH;
  const every = Math.max(1, Math.ceil(labels.length / 8));

  return (
    <figure className="svg-chart" data-testid={testId} data-points={all.length}>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img">
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.left} x2={width - pad.right} y1={y(max * f)} y2={y(max * f)} className="grid-line" />
            <text x={pad.left - 4} y={y(max * f) + 4} textAnchor="end" className="axis">
              {Math.round(max * f).toLocaleString('ko-KR')}
              {unit}
            </text>
          </g>
        ))}
        {labels.map((label, i) =>
          i % every === 0 ? (
            <text key={label} x={pad.left + slot * (i + 0.5)} y={height - 8} textAnchor="middle" className="axis">
              {label.length > 10 ? label.slice(5) : label}
            </text>
          ) : null,
        )}
        {kind === 'bar'
          ? series.map((s, si) =>
              s.values.map((v, i) => {
                if (v === null) return null;
                const barW = (slot * 0.8) / series.length;
                const x = pad.left + slot * i + slot * 0.1 + barW * si;
                return (
                  <rect key={`${si}-${i}`} x={x} y={y(v)} width={Math.max(1, barW - 1)} height={pad.top + innerH - y(v)} fill={color(si)}>
                    <title>{`${s.name} ${labels[i]}: ${v.toLocaleString('ko-KR')}${unit}`}</title>
                  </rect>
                );
              }),
            )
          : series.map((s, si) => {
              const points = s.values
                .map((v, i) => (v === null ? null : `${pad.left + slot * (i + 0.5)},${y(v)}`))
                .filter(Boolean)
                .join(' ');
              return (
                <g key={s.name}>
                  <polyline points={points} fill="none" stroke={color(si)} strokeWidth={2} />
                  {s.values.map((v, i) =>
                    v === null ? null : (
                      <circle key={i} cx={pad.left + slot * (i + 0.5)} cy={y(v)} r={2.5} fill={color(si)}>
                        <title>{`${s.name} ${labels[i]}: ${v.toLocaleString('ko-KR')}${unit}`}</title>
                      </circle>
                    ),
                  )}
                </g>
              );
            })}
      </svg>
      <figcaption className="legend">
        {series.map((s, si) => (
          <span key={s.name}>
            <i style={{ background: color(si) }} />
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
