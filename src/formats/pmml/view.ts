import type { FormatView, ViewRow } from '../format.js';
import { viewValue } from '../format.js';
import type { PmmlStructure } from './reader.js';

/** PMML's own view for inspect: the version, and each model with its kind, function and tensors. */
export function describePmml(s: PmmlStructure): FormatView {
  const rows: ViewRow[] = [];
  if (s.version !== undefined) rows.push({ key: 'version', value: viewValue(s.version) });
  const header = s.document.root.children.find((c) => c.local === 'Header');
  const application = header?.children.find((c) => c.local === 'Application');
  if (application !== undefined) rows.push({ key: 'application', value: viewValue(`${application.attributes['name'] ?? ''} ${application.attributes['version'] ?? ''}`.trim()) });
  rows.push({ key: 'models', value: String(s.models.length) });
  const models: ViewRow[] = s.models.slice(0, 100).map((m) => ({
    key: m.path,
    value: viewValue([m.functionName, m.modelName !== undefined ? JSON.stringify(m.modelName) : undefined, `${m.tensors} tensor${m.tensors === 1 ? '' : 's'}`].filter((x) => x !== undefined).join(', ')),
  }));
  if (s.models.length > 100) models.push({ key: '…', value: `${s.models.length - 100} more` });
  return [
    { title: 'PMML', rows },
    { title: 'models', rows: models },
  ];
}
