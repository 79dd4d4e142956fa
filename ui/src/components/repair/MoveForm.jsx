// Move a case's token (POST /process-instances/{id}/modification): cancel where it stands and
// start before another step; either half alone too. A step clicked on the diagram becomes the target.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { request } from '../../api.js';
import { stepLabel } from '../../elements.js';
import ErrorNote from '../ErrorNote.jsx';
import Reason from './Reason.jsx';
import { useAction } from './useAction.js';

export default function MoveForm({ instance, steps, active, picked, onDone }) {
  const { t } = useTranslation();
  const [from, setFrom] = useState(active[0]?.id || '');
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const action = useAction('reason-move', onDone);

  useEffect(() => {
    if (picked && steps.some((s) => s.id === picked)) setTo(picked);
  }, [picked, steps]);

  function submit(event) {
    event.preventDefault();
    const instructions = [];
    if (from) instructions.push({ type: 'cancel', element_id: from });
    if (to) instructions.push({ type: 'start_before', element_id: to });
    action.run(reason, () => request(`/process-instances/${instance.id}/modification`, {
      method: 'POST', json: { reason: reason.trim(), instructions },
    }));
  }

  return (
    <form noValidate onSubmit={submit} aria-labelledby="repair-move-title" data-testid="repair-move">
      <h3 id="repair-move-title" tabIndex={-1}>{t('repair.move.title')}</h3>
      <p className="muted">{t('repair.move.hint')}</p>
      <div className="row">
        <label>{t('repair.move.from')}
          <select value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">{t('repair.move.keep')}</option>
            {active.map((a) => <option key={a.id} value={a.id}>{stepLabel(a)}</option>)}
          </select>
        </label>
        <span aria-hidden="true" className="arrow">→</span>
        <label>{t('repair.move.to')}
          <select value={to} onChange={(e) => setTo(e.target.value)}>
            <option value="">{t('repair.move.none')}</option>
            {steps.map((s) => <option key={s.id} value={s.id}>{stepLabel(s)}</option>)}
          </select>
        </label>
      </div>
      <Reason id="reason-move" value={reason} onChange={setReason} errors={action.fieldErrors.reason} />
      <ErrorNote error={action.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={action.busy || (!from && !to)}>{t('repair.move.submit')}</button>
      </div>
    </form>
  );
}
