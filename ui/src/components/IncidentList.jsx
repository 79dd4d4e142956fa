// Open incidents of a case (GET /incidents?process_instance_id=): where, what failed, since when,
// and which repairs apply (migration only when the process has another version to migrate to).
import { useTranslation } from 'react-i18next';
import { formatTime } from '../format.js';

const REPAIR = { retry: 'retry', set_variables: 'variables', modification: 'move', migration: 'migrate' };

export default function IncidentList({ incidents, migrate }) {
  const { t, i18n } = useTranslation();
  const repairs = (incident) => (incident.actions || []).filter((a) => migrate || a !== 'migration');
  if (!incidents.length) return <p className="muted">{t('incidents.none')}</p>;
  return (
    <ul className="incidents" data-testid="incidents">
      {incidents.map((incident) => (
        <li key={incident.id} className="error" data-element={incident.element_id}>
          <strong>{incident.element_name || incident.element_id}</strong>{' '}
          <code className="muted">{incident.element_id}</code>{' '}
          <span className="badge badge-error">{t(`incidents.kinds.${incident.kind}`, incident.kind)}</span>
          <span className="muted"> · {t('waits.since')} {formatTime(incident.since, i18n.language)}</span>
          <div>{incident.message}</div>
          {repairs(incident).length > 0 && (
            <div className="muted">
              {t('incidents.repairs')}: {repairs(incident).map((a) => (REPAIR[a] ? t(`repair.${REPAIR[a]}.open`) : a)).join(' · ')}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
