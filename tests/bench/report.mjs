// The benchmarks' report: rows of `{case, unit, ours, peer, theirs, higher_is_better,
// ratio, target}` merged into bench/results.json, a table per case group in
// bench/results.md, and an SVG chart of the ratios per group. A case is named
// "GROUP: details"; each bench script replaces its own groups' rows.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The value at quantile `q` (0..1) of `xs`. */
export function quantile(xs, q) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A row; `ratio` is ours/theirs, or theirs/ours where lower is better: above 1 is ours
 *  ahead either way. */
export function row(name, unit, ours, peer, theirs, higherIsBetter, target) {
  if (!(ours > 0 && theirs > 0)) throw new Error(`${name}: no measurement (ours ${ours}, theirs ${theirs})`);
  const ratio = higherIsBetter ? ours / theirs : theirs / ours;
  const round = (x) => +x.toPrecision(4);
  return { case: name, unit, ours: round(ours), peer, theirs: round(theirs), higher_is_better: higherIsBetter, ratio: +ratio.toPrecision(3), target };
}

export const groupOf = (r) => r.case.split(':')[0];

function escape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Bars of the ratios, 1× marked, each target a tick. */
function chart(group, rows) {
  const width = 760;
  const label = 330;
  const barH = 18;
  const gap = 8;
  const top = 36;
  const height = top + rows.length * (barH + gap) + 24;
  const max = Math.max(2, ...rows.map((r) => r.ratio), ...rows.map((r) => r.target ?? 0)) * 1.1;
  const x = (v) => label + (v / max) * (width - label - 60);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${escape(group)}: tabmq against its peer (ratio, above 1 is tabmq ahead)</text>`,
    `<line x1="${x(1)}" y1="${top - 6}" x2="${x(1)}" y2="${height - 18}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${x(1) + 3}" y="${height - 6}" fill="#666">1×</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * (barH + gap);
    const name = r.case.slice(group.length + 1).trim();
    const fill = r.target == null ? '#58a' : r.ratio >= r.target ? '#3a7' : '#d65';
    parts.push(`<text x="8" y="${y + 13}">${escape(name.length > 48 ? `${name.slice(0, 47)}…` : name)}</text>`);
    parts.push(`<rect x="${label}" y="${y}" width="${Math.max(1, x(r.ratio) - label)}" height="${barH}" fill="${fill}"/>`);
    parts.push(`<text x="${x(r.ratio) + 4}" y="${y + 13}">${r.ratio}×</text>`);
    if (r.target != null) parts.push(`<line x1="${x(r.target)}" y1="${y - 2}" x2="${x(r.target)}" y2="${y + barH + 2}" stroke="#222" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

const slug = (group) => group.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Replaces the rows of `groups` in bench/, and rewrites the tables and charts. `notes`
 *  (by group) say why a missed target cannot be met, or what a figure means. */
export function report(out, groups, rows, notes = {}) {
  mkdirSync(out, { recursive: true });
  const jsonFile = join(out, 'results.json');
  const notesFile = join(out, 'notes.json');
  const previous = existsSync(jsonFile) ? JSON.parse(readFileSync(jsonFile, 'utf8')) : [];
  const previousNotes = existsSync(notesFile) ? JSON.parse(readFileSync(notesFile, 'utf8')) : {};
  const kept = previous.filter((r) => !groups.includes(groupOf(r)));
  // Each row keeps the machine it was measured on: a run of one case must not relabel
  // the others' figures with today's machine.
  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const merged = [...kept, ...rows.map((r) => ({ ...r, machine }))];
  const allNotes = { ...Object.fromEntries(Object.entries(previousNotes).filter(([g]) => !groups.includes(g))), ...notes };
  writeFileSync(jsonFile, `${JSON.stringify(merged, null, 2)}\n`);
  writeFileSync(notesFile, `${JSON.stringify(allNotes, null, 2)}\n`);
  const order = [...new Set(merged.map(groupOf))];
  const md = [
    '# Benchmark results',
    '',
    'Written by `cargo xtask bench`. Every figure is measured against its peer in the same run;',
    'the ratio is ours/theirs, or theirs/ours where lower is better, so above 1× tabmq is ahead.',
    '',
  ];
  for (const group of order) {
    const rs = merged.filter((r) => groupOf(r) === group);
    md.push(`## ${group}`, '', `Machine: ${machinesOf(rs).join('; ')}.`, '', `![${group}](${slug(group)}.svg)`, '');
    md.push('| case | unit | tabmq | peer | peer figure | ratio | target | met |', '| --- | --- | ---: | --- | ---: | ---: | ---: | :---: |');
    for (const r of rs) {
      const met = r.target == null ? '—' : r.ratio >= r.target ? 'yes' : 'no';
      md.push(`| ${r.case.slice(group.length + 1).trim()} | ${r.unit} | ${r.ours} | ${r.peer} | ${r.theirs} | ${r.ratio}× | ${r.target == null ? '—' : `${r.target}×`} | ${met} |`);
    }
    if (allNotes[group]) md.push('', allNotes[group]);
    md.push('');
    writeFileSync(join(out, `${slug(group)}.svg`), `${chart(group, rs)}\n`);
  }
  writeFileSync(join(out, 'results.md'), md.join('\n'));
  updateReadme(join(out, '..', 'README.md'), merged, order);
  return md.join('\n');
}

const machinesOf = (rows) => [...new Set(rows.map((r) => r.machine ?? 'not recorded'))];

const START = '<!-- bench-summary:start -->';
const END = '<!-- bench-summary:end -->';

/** Rewrites the README's summary (between its markers): every row with a target. */
function updateReadme(readme, rows, order) {
  if (!existsSync(readme)) return;
  const text = readFileSync(readme, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) return;
  const targeted = rows.filter((r) => r.target != null);
  const machines = machinesOf(rows);
  const where = machines.length === 1
    ? machines[0]
    : machines.map((m) => `${m} (${order.filter((g) => rows.some((r) => groupOf(r) === g && (r.machine ?? 'not recorded') === m)).join(', ')})`).join(' and ');
  const table = [
    START,
    `Measured by \`cargo xtask bench\` on ${where}; every ratio is against the peer in the same run (above 1× tabmq is ahead). Rows without a target, and the notes that say why a target is missed, are in [bench/results.md](bench/results.md).`,
    '',
    '| case | unit | peer | ratio | target | met |',
    '| --- | --- | --- | ---: | ---: | :---: |',
    ...targeted.map((r) => `| ${r.case} | ${r.unit} | ${r.peer} | ${r.ratio}× | ${r.target}× | ${r.ratio >= r.target ? 'yes' : 'no'} |`),
    END,
  ].join('\n');
  writeFileSync(readme, text.slice(0, from) + table + text.slice(to + END.length));
}
