// Move a case's token (POST /process-instances/{id}/modification): cancel where it stands and
// start before another step; either half alone too. A step clicked on the diagram becomes the target.
// Nothing is cancelled unless chosen; cancelling a join that holds branches which have already
// arrived (`arrivals`: join id -> those branches) loses them, so it needs an explicit confirmation.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { request } from '../../api.js';
import { stepLabel } from '../../elements.js';
import ErrorNote from '../ErrorNote.jsx';
import Reason from './Reason.jsx';
import { useAction } from './useAction.js';

export default function MoveForm({ instance, steps, active, arrivals, picked, onDone }) {
  const { t } = useTranslation();
  const [from, setFrom] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [unconfirmed, setUnconfirmed] = useState(false);
  const lost = (from && arrivals?.get(from)) || [];
  const label = (id) => stepLabel(steps.find((s) => s.id === id) || { id, name: '' });
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  // Neither half chosen: said at the fields before asking the service.
  const [empty, setEmpty] = useState(false);
  // A refused instruction's select: the cancel comes first in the request when there is one.
  const action = useAction('reason-move', onDone, (field) => {
    const index = /^instructions(?:\.(\d+))?/.exec(field);
    if (!index) return null;
    const first = from ? 'move-from' : 'move-to';
    return index[1] === '1' ? 'move-to' : first;
  });

  useEffect(() => {
    if (picked && steps.some((s) => s.id === picked)) setTo(picked);
  }, [picked, steps]);

  function submit(event) {
    event.preventDefault();
    if (!from && !to) {
      setEmpty(true);
      document.getElementById('move-from')?.focus();
      return;
    }
    setEmpty(false);
    if (lost.length && !confirmed) {
      setUnconfirmed(true);
      document.getElementById('move-confirm-loss')?.focus();
      return;
    }
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
          <select id="move-from" value={from}
            onChange={(e) => { setFrom(e.target.value); setEmpty(false); setConfirmed(false); setUnconfirmed(false); }}
            aria-invalid={empty ? 'true' : undefined} aria-describedby={empty ? 'move-empty' : undefined}>
            <option value="">{t('repair.move.keep')}</option>
            {active.map((a) => <option key={a.id} value={a.id}>{stepLabel(a)}</option>)}
          </select>
        </label>
        <span aria-hidden="true" className="arrow">→</span>
        <label>{t('repair.move.to')}
          <select id="move-to" value={to} onChange={(e) => { setTo(e.target.value); setEmpty(false); }}
            aria-invalid={empty ? 'true' : undefined} aria-describedby={empty ? 'move-empty' : undefined}>
            <option value="">{t('repair.move.none')}</option>
            {steps.map((s) => <option key={s.id} value={s.id}>{stepLabel(s)}</option>)}
          </select>
        </label>
      </div>
      {empty && <p className="field-error" role="alert" id="move-empty">{t('repair.move.empty')}</p>}
      {lost.length > 0 && (
        <div className="notice" data-testid="move-join-loss">
          <p>{t('repair.move.joinLoses', { join: label(from), branches: lost.map(label).join('、') })}</p>
          <label>
            <input type="checkbox" id="move-confirm-loss" checked={confirmed}
              onChange={(e) => { setConfirmed(e.target.checked); setUnconfirmed(false); }}
              aria-invalid={unconfirmed ? 'true' : undefined} aria-describedby={unconfirmed ? 'move-unconfirmed' : undefined} />
            {' '}{t('repair.move.joinConfirm')}
          </label>
          {unconfirmed && <p className="field-error" role="alert" id="move-unconfirmed">{t('repair.move.joinUnconfirmed')}</p>}
        </div>
      )}
      <Reason id="reason-move" value={reason} onChange={setReason} errors={action.fieldErrors.reason} />
      <ErrorNote error={action.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={action.busy}>{t('repair.move.submit')}</button>
      </div>
    </form>
  );
}
