// Register an application: the start form of the chosen process, checked by the service.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { ApiError, post } from '../api.js';
import ErrorNote from '../components/ErrorNote.jsx';
import SchemaForm, { serverErrors, submittable } from '../components/SchemaForm.jsx';
import { loadDefinitions } from '../definitions.js';
import { useLoad } from '../useLoad.js';

const LAST_STARTED = 'bpmn-service.lastStartedProcess';

export default function NewCase() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const definitions = useLoad(() => loadDefinitions(), []);
  // Only the processes the user may start (an older server does not say: all of them); the one
  // they started last in this tab first.
  const startable = definitions.data?.filter((d) => d.startable !== false);
  const last = sessionStorage.getItem(LAST_STARTED);
  const key = params.get('process')
    || (startable?.some((d) => d.key === last) ? last : startable?.[0]?.key) || '';
  const definition = definitions.data?.find((d) => d.key === key);
  const [businessKey, setBusinessKey] = useState('');
  const [values, setValues] = useState({});
  const [fieldErrors, setFieldErrors] = useState({});
  const [error, setError] = useState(null);
  const [started, setStarted] = useState(null);
  const [busy, setBusy] = useState(false);

  const [existing, setExisting] = useState(null);

  async function start(formData) {
    if (busy) return;
    setError(null);
    setFieldErrors({});
    setExisting(null);
    setBusy(true);
    try {
      const variables = submittable(definition.start_form, formData);
      setStarted(await post(`/process-definitions/${key}/instances`, { business_key: businessKey.trim(), variables }));
      sessionStorage.setItem(LAST_STARTED, key);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'duplicate_business_key') {
        // The number is taken: say so at the field, with the case when the clerk may see it.
        setFieldErrors({ business_key: [t('newCase.duplicate', { key: businessKey.trim() })] });
        setExisting(e.details?.instance_id || null);
        document.getElementById('business-key')?.focus();
        return;
      }
      const byField = e instanceof ApiError ? e.fieldErrors() : {};
      setFieldErrors(byField);
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (started) {
    return (
      <section className="card" aria-live="polite">
        <h1>{t('newCase.started', { key: started.business_key })}</h1>
        <h2>{t('newCase.readyTasks')}</h2>
        {started.tasks.length === 0 ? <p className="muted">{t('task.nextNone')}</p> : (
          <ul>{started.tasks.map((task) => (
            <li key={task.id}><Link to={`/tasks/${task.id}`}>{task.name}</Link> <span className="muted">{task.lane}</span></li>
          ))}</ul>
        )}
        <p>
          <Link to={`/cases/${started.id}`}>{t('task.case')}</Link> ·{' '}
          <button type="button" className="link" onClick={() => { setStarted(null); setValues({}); setBusinessKey(''); }}>
            {t('newCase.title')}
          </button>
        </p>
      </section>
    );
  }

  return (
    <section>
      <h1>{t('newCase.title')}</h1>
      <ErrorNote error={definitions.error} />
      {startable && startable.length === 0 && <p className="notice" data-testid="none-startable">{t('newCase.noneStartable')}</p>}
      <div className="card" hidden={startable?.length === 0}>
        <div className="row case-key">
          <label>{t('newCase.process')}
            <select value={key} onChange={(e) => { setParams({ process: e.target.value }); setValues({}); setFieldErrors({}); }}>
              {(startable || []).map((d) => <option key={d.key} value={d.key}>{d.name || d.key}</option>)}
            </select>
          </label>
          {/* The label's text and its mark on one line: the label lays out in a column. */}
          <label><span>{t('newCase.businessKey')}<span className="required" aria-hidden="true">*</span></span>
            <input id="business-key" required maxLength={128} value={businessKey}
              onChange={(e) => setBusinessKey(e.target.value)} aria-required="true"
              aria-invalid={fieldErrors.business_key ? 'true' : undefined}
              aria-describedby={fieldErrors.business_key ? 'business-key-error' : undefined} />
          </label>
        </div>
        {fieldErrors.business_key && (
          <p className="field-error" role="alert" id="business-key-error">
            {fieldErrors.business_key.join('; ')}
            {existing && <> <Link to={`/cases/${existing}`}>{t('newCase.openExisting')}</Link></>}
          </p>
        )}
        <ErrorNote error={error} />
        {definition && (
          <SchemaForm id="start-form" schema={definition.start_form} formData={values}
            onChange={setValues} onSubmit={start} disabled={busy} extraErrors={serverErrors(fieldErrors)} />
        )}
        <div className="actions">
          <button type="submit" form="start-form" className="primary" disabled={busy || !businessKey.trim()}>
            {t('newCase.start')}
          </button>
        </div>
      </div>
    </section>
  );
}
