// Set case variables (PATCH /process-instances/{id}/variables): a variable that holds text takes
// the typed text as it is; any other value is read as JSON (123, true, ["a"]), text if it is not,
// and JSON is sent as typed, so 80.0 stays a float. A number that JavaScript cannot keep as typed
// (1e999, 9007199254740993) is refused at its field instead of being sent changed. Current values
// are offered and sent back as the service wrote them (texts: name → JSON text), so a float 80.0
// reads 80.0 and, left as it is, goes back as the very same text.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { request } from '../../api.js';
import { currentText, shownValue } from '../../variables.js';
import ErrorNote from '../ErrorNote.jsx';
import { objectText, parseExact } from './exactJson.js';
import Reason from './Reason.jsx';
import { useAction } from './useAction.js';

// { json } to send (JSON text), or { inexact: literal } for a number that would not be kept as
// typed. JSON is sent as the user typed it: JSON.parse would turn 80.0 into the integer 80.
function parse(text, current) {
  if (typeof current === 'string') return { json: JSON.stringify(text) };
  const read = parseExact(text);
  if (read === null) return { json: JSON.stringify(text) };
  return 'inexact' in read ? read : { json: text };
}

export default function VariablesForm({ instance, texts, method, onDone }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState([{ name: '', value: '' }]);
  const [reason, setReason] = useState('');
  // Refusals made here, before asking the service: by variable name.
  const [refused, setRefused] = useState({});
  // A refused variable's value field (the 422 names it "variables.<name>").
  const action = useAction('reason-variables', onDone, (field) => {
    const row = rows.findIndex((r) => field === `variables.${r.name.trim()}`);
    return row >= 0 ? `variable-value-${row}` : null;
  });
  const existing = instance.variables;
  const shown = (name) => shownValue(existing, texts, name);
  // A code the process labels: the label before the code, which is what the field takes.
  const labelOf = (name) => (instance.value_labels?.[name] ? `${instance.value_labels[name]} ` : '');

  function change(i, field, value) {
    setRows((all) => all.map((row, j) => {
      if (j !== i) return row;
      const next = { ...row, [field]: value };
      if (field === 'name' && Object.hasOwn(existing, value) && row.value === '') next.value = shown(value);
      return next;
    }));
  }

  function submit(event) {
    event.preventDefault();
    const changes = {};
    const inexact = {};
    for (const row of rows) {
      const name = row.name.trim();
      if (!name) continue;
      // A current value left as offered goes back as the service wrote it.
      const kept = Object.hasOwn(existing, name) && row.value === shown(name);
      const parsed = kept ? { json: currentText(existing, texts, name) } : parse(row.value, existing[name]);
      if ('inexact' in parsed) inexact[name] = [t('repair.variables.inexact', { number: parsed.inexact })];
      else changes[name] = parsed.json;
    }
    setRefused(inexact);
    if (Object.keys(inexact).length > 0) {
      const first = rows.findIndex((row) => Object.hasOwn(inexact, row.name.trim()));
      document.getElementById(`variable-value-${first}`)?.focus();
      return;
    }
    // PUT replaces the whole set: the unchanged variables go with it.
    const unchanged = method === 'PATCH' ? {} : existing;
    const variables = { ...Object.fromEntries(Object.keys(unchanged).map((k) => [k, currentText(existing, texts, k)])), ...changes };
    const body = objectText({ variables: objectText(variables), reason: JSON.stringify(reason.trim()) });
    action.run(reason, () => request(`/process-instances/${instance.id}/variables`, { method, jsonText: body }));
  }

  const names = Object.keys(changesOf(rows));
  const errorsOf = (name) => refused[name] || action.fieldErrors[`variables.${name}`] || [];
  return (
    <form noValidate onSubmit={submit} aria-labelledby="repair-variables-title" data-testid="repair-variables">
      <h3 id="repair-variables-title" tabIndex={-1}>{t('repair.variables.title')}</h3>
      <p className="muted">{t('repair.variables.hint')}</p>
      <datalist id="variable-names">{Object.keys(existing).map((n) => <option key={n} value={n} />)}</datalist>
      {rows.map((row, i) => (
        <div className="row" key={i}>
          <label>{t('repair.variables.name')}
            <input list="variable-names" value={row.name} onChange={(e) => change(i, 'name', e.target.value)} maxLength={128} />
          </label>
          <label className="grow">{t('repair.variables.value')}
            <input id={`variable-value-${i}`} value={row.value} onChange={(e) => change(i, 'value', e.target.value)}
              aria-invalid={errorsOf(row.name.trim()).length > 0 ? 'true' : undefined} />
          </label>
          {Object.hasOwn(existing, row.name.trim()) && (
            <span className="muted">
              {t('repair.variables.current')}: {labelOf(row.name.trim())}<code>{shown(row.name.trim())}</code>
            </span>
          )}
          {rows.length > 1 && (
            <button type="button" onClick={() => setRows((all) => all.filter((_, j) => j !== i))}>{t('repair.remove')}</button>
          )}
          {errorsOf(row.name.trim()).map((m) => <span key={m} className="field-error">{m}</span>)}
        </div>
      ))}
      <div className="actions">
        <button type="button" onClick={() => setRows((all) => [...all, { name: '', value: '' }])}>{t('repair.variables.add')}</button>
      </div>
      <Reason id="reason-variables" value={reason} onChange={setReason} errors={action.fieldErrors.reason} />
      <ErrorNote error={action.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={action.busy || names.length === 0}>
          {t('repair.variables.submit')}
        </button>
      </div>
    </form>
  );
}

function changesOf(rows) {
  return Object.fromEntries(rows.filter((r) => r.name.trim()).map((r) => [r.name.trim(), r.value]));
}
