// The reason every repair needs: it goes into the case's history with the supervisor's name.
import { useTranslation } from 'react-i18next';

export default function Reason({ id, value, onChange, errors }) {
  const { t } = useTranslation();
  const invalid = errors?.length > 0;
  return (
    <div className="field">
      <label htmlFor={id}>{t('repair.reason')} <span className="required" aria-hidden="true">*</span></label>
      <textarea id={id} required value={value} onChange={(e) => onChange(e.target.value)} maxLength={1000}
        aria-invalid={invalid ? 'true' : undefined} aria-describedby={`${id}-hint`} />
      <div id={`${id}-hint`} className="muted">{t('repair.reasonHint')}</div>
      {invalid && <ul className="error-detail">{errors.map((m) => <li key={m}>{m}</li>)}</ul>}
    </div>
  );
}
