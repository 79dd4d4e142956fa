import { useTranslation } from 'react-i18next';

export default function ErrorNote({ error }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{t('common.error')}</strong>{error.status ? ` (${error.status})` : ''}: {error.message}
    </div>
  );
}
