// Set case variables (PATCH /process-instances/{id}/variables): a variable that holds text takes
// the typed text as it is; any other value is read as JSON (123, true, ["a"]), text if it is not.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { request } from '../../api.js';
import ErrorNote from '../ErrorNote.jsx';
import Reason from './Reason.jsx';
import { useAction } from './useAction.js';

const shown = (value) => (typeof value === 'string' ? value : JSON.stringify(value));

function parse(text, current) {
  if (typeof current === 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export default function VariablesForm({ instance, method, onDone }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState([{ name: '', value: '' }]);
  const [reason, setReason] = useState('');
  const action = useAction('reason-variables', onDone);
  const existing = instance.variables;

  function change(i, field, value) {
    setRows((all) => all.map((row, j) => {
      if (j !== i) return row;
      const next = { ...row, [field]: value };
      if (field === 'name' && Object.hasOwn(existing, value) && row.value === '') next.value = shown(existing[value]);
      return next;
    }));
  }

  function submit(event) {
    event.preventDefault();
    const changes = {};
    for (const row of rows) {
      const name = row.name.trim();
      if (name) changes[name] = parse(row.value, existing[name]);
    }
    // PUT replaces the whole set: the unchanged variables go with it.
    const variables = method === 'PATCH' ? changes : { ...existing, ...changes };
    action.run(reason, () => request(`/process-instances/${instance.id}/variables`, {
      method, json: { variables, reason: reason.trim() },
    }));
  }

  const names = Object.keys(changesOf(rows));
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
            <input value={row.value} onChange={(e) => change(i, 'value', e.target.value)}
              aria-invalid={action.fieldErrors[`variables.${row.name.trim()}`] ? 'true' : undefined} />
          </label>
          {Object.hasOwn(existing, row.name.trim()) && (
            <span className="muted">{t('repair.variables.current')}: <code>{shown(existing[row.name.trim()])}</code></span>
          )}
          {rows.length > 1 && (
            <button type="button" onClick={() => setRows((all) => all.filter((_, j) => j !== i))}>{t('repair.remove')}</button>
          )}
          {(action.fieldErrors[`variables.${row.name.trim()}`] || []).map((m) => <span key={m} className="field-error">{m}</span>)}
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
