// Open incidents of a case (GET /incidents?process_instance_id=): where, what failed, since when.
import { useTranslation } from 'react-i18next';
import { formatTime } from '../format.js';

export default function IncidentList({ incidents }) {
  const { t, i18n } = useTranslation();
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
        </li>
      ))}
    </ul>
  );
}
