// The time limits of a case with their state (running, warning, paused, met, breached) and moments.
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { formatTime } from '../format.js';
import { limitState } from '../timelimits.js';

export default function TimeLimitList({ limits }) {
  const { t, i18n } = useTranslation();
  const time = (v) => (v ? <time dateTime={v}>{formatTime(v, i18n.language)}</time> : '–');
  if (!limits.length) return <p className="muted">{t('limits.none')}</p>;
  return (
    <table className="grid compact" data-testid="time-limits">
      <thead>
        <tr>
          <th scope="col">{t('limits.name')}</th><th scope="col">{t('cases.status')}</th>
          <th scope="col">{t('limits.started')}</th><th scope="col">{t('limits.due')}</th>
          <th scope="col">{t('limits.ended')}</th>
        </tr>
      </thead>
      <tbody>
        {limits.map((limit, i) => {
          const state = limitState(limit);
          return (
            <tr key={`${limit.limit_id}-${i}`} data-limit={limit.limit_id} data-state={state}>
              <td>
                {limit.name} <code className="muted">{limit.limit_id}</code>
                {limit.limit_days != null && <div className="muted">{t('limits.days', { count: limit.limit_days })}</div>}
              </td>
              <td><span className={`badge lim-badge-${state}`}>{t(`limits.states.${state}`, state)}</span></td>
              <td>{time(limit.started_at)}</td>
              <td>{time(limit.due_at)}{limit.warn_at && <div className="muted">{t('limits.warnAt')} {time(limit.warn_at)}</div>}</td>
              <td>
                {limit.breached_at ? <>{t('limits.breachedAt')} {time(limit.breached_at)}</> : time(limit.stopped_at)}
                {limit.status === 'paused' && limit.paused_at && <div className="muted">{t('limits.pausedAt')} {time(limit.paused_at)}</div>}
                {limit.escalated_to?.length > 0 && (limit.breached_at || limit.escalation_task_id ? (
                  <div>
                    {t('limits.escalatedTo', { groups: limit.escalated_to.join(', ') })}
                    {limit.escalation_task_id && <> · <Link to={`/tasks/${limit.escalation_task_id}`}>{t('limits.escalationTask')}</Link></>}
                  </div>
                ) : <div className="muted">{t('limits.escalatesTo', { groups: limit.escalated_to.join(', ') })}</div>)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
