// The time limits of a case with their state (running, warning, paused, met, breached) and moments.
import { useTranslation } from 'react-i18next';
import { formatTime } from '../format.js';
import { limitState } from '../timelimits.js';

export default function TimeLimitList({ limits }) {
  const { t, i18n } = useTranslation();
  const time = (v) => (v ? formatTime(v, i18n.language) : '–');
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
        {limits.map((limit) => {
          const state = limitState(limit);
          return (
            <tr key={limit.limit_id} data-limit={limit.limit_id} data-state={state}>
              <td>{limit.name} <code className="muted">{limit.limit_id}</code></td>
              <td><span className={`badge lim-badge-${state}`}>{t(`limits.states.${state}`, state)}</span></td>
              <td>{time(limit.started_at)}</td>
              <td>{time(limit.due_at)}{limit.warn_at && <div className="muted">{t('limits.warnAt')} {time(limit.warn_at)}</div>}</td>
              <td>{limit.breached_at ? <>{t('limits.breachedAt')} {time(limit.breached_at)}</> : time(limit.stopped_at)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
