import { useTranslation } from 'react-i18next';

export default function ErrorNote({ error }) {
  const { t } = useTranslation();
  // A 401 is the session ending: the sign-in dialog over the page says so and asks again.
  if (!error || error.status === 401) return null;
  return (
    <div className="error" role="alert">
      <strong>{t('common.error')}</strong>{error.status ? ` (${error.status})` : ''}: {error.message}
    </div>
  );
}
