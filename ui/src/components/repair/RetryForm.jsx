// Retry a failed step (POST /process-instances/{id}/retry): one failed element, or all of them.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { request } from '../../api.js';
import { stepLabel } from '../../elements.js';
import ErrorNote from '../ErrorNote.jsx';
import Reason from './Reason.jsx';
import { useAction } from './useAction.js';

export default function RetryForm({ instance, failed, onDone }) {
  const { t } = useTranslation();
  const [element, setElement] = useState(failed.length === 1 ? failed[0].id : '');
  const [reason, setReason] = useState('');
  const action = useAction('reason-retry', onDone);

  function submit(event) {
    event.preventDefault();
    const json = { reason: reason.trim() };
    if (element) json.element_id = element;
    action.run(reason, () => request(`/process-instances/${instance.id}/retry`, { method: 'POST', json }));
  }

  return (
    <form noValidate onSubmit={submit} aria-labelledby="repair-retry-title" data-testid="repair-retry">
      <h3 id="repair-retry-title" tabIndex={-1}>{t('repair.retry.title')}</h3>
      <p className="muted">{t('repair.retry.hint')}</p>
      <label>{t('repair.retry.element')}
        <select value={element} onChange={(e) => setElement(e.target.value)}>
          <option value="">{t('repair.retry.all')}</option>
          {failed.map((f) => <option key={f.id} value={f.id}>{stepLabel(f)}</option>)}
        </select>
      </label>
      <Reason id="reason-retry" value={reason} onChange={setReason} errors={action.fieldErrors.reason} />
      <ErrorNote error={action.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={action.busy}>{t('repair.retry.submit')}</button>
      </div>
    </form>
  );
}
