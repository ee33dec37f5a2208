// Adds rows measured outside Node (the native broker case, measured by xtask's load
// generator) to the report: TABMQ_BENCH_ROWS names a JSON file of
// `{groups, notes, rows: [{case, unit, ours, peer, theirs, higher_is_better, target}]}`.
import { readFileSync } from 'node:fs';
import { report, row } from './report.mjs';

const input = JSON.parse(readFileSync(process.env.TABMQ_BENCH_ROWS, 'utf8'));
const rows = input.rows.map((r) => row(r.case, r.unit, r.ours, r.peer, r.theirs, r.higher_is_better, r.target));
console.log(report(process.env.TABMQ_BENCH_OUT, input.groups, rows, input.notes));
