/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to
 * check what /metrics serves: every sample belongs to a family declared by
 * `# TYPE`, names and labels are well formed, values are numbers. Throws on
 * anything else.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the sample with exactly these labels (undefined when absent). */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', ''];

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`line ${line}: bad labels {${text}}`);
    if (m[1] in labels) throw new Error(`line ${line}: label ${m[1]} twice`);
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    if (m[3] === '') break;
  }
  return labels;
}

export function parsePrometheus(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(raw);
      if (!m) throw new Error(`line ${line}: bad comment ${raw}`);
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3])) throw new Error(`line ${line}: bad type ${m[3]}`);
        if (types.has(m[2])) throw new Error(`line ${line}: ${m[2]} typed twice`);
        types.set(m[2], m[3]);
      }
      return;
    }
    const m = SAMPLE.exec(raw);
    if (!m) throw new Error(`line ${line}: bad sample ${raw}`);
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`).
    const special = /^([+-]?)(inf|nan)$/i.exec(m[3]);
    if (!special && !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(m[3])) throw new Error(`line ${line}: bad value ${m[3]}`);
    const value = special ? (special[2].toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity) : Number(m[3]);
    const family = SUFFIXES.map((s) => (s && m[1].endsWith(s) ? m[1].slice(0, -s.length) : s ? null : m[1])).find((f) => f !== null && types.has(f));
    if (!family) throw new Error(`line ${line}: ${m[1]} has no # TYPE`);
    samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value });
  });
  return {
    types,
    samples,
    value(name, labels = {}) {
      const want = JSON.stringify(Object.entries(labels).sort());
      return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
    },
  };
}
