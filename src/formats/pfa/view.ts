import type { FormatView, ViewRow } from '../format.js';
import { viewValue } from '../format.js';
import type { PfaStructure } from './reader.js';

/** PFA's own view for inspect: its name, input and output types, cells, pools and functions. */
export function describePfa(s: PfaStructure): FormatView {
  const rows: ViewRow[] = [{ key: 'syntax', value: s.syntax === 'json' ? 'JSON' : 'YAML' }];
  for (const key of ['name', 'method', 'input', 'output'] as const) {
    const v = s.top[key];
    if (v !== undefined) rows.push({ key, value: viewValue(typeof v === 'string' ? v : JSON.stringify(v)) });
  }
  rows.push({ key: 'cells', value: String(s.cells.cells.length) });
  rows.push({ key: 'pools', value: String(s.cells.pools.length) });
  const fcns = s.top['fcns'];
  if (typeof fcns === 'object' && fcns !== null) rows.push({ key: 'functions', value: String(Object.keys(fcns).length) });
  if (s.cells.external.length > 0) rows.push({ key: 'external inits', value: viewValue(s.cells.external.map((e) => e.path).join(', ')) });
  return [{ title: 'PFA', rows }];
}
