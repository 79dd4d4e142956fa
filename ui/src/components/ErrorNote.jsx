import { useTranslation } from 'react-i18next';

export default function ErrorNote({ error }) {
  const { t } = useTranslation();
  // A 401 is the session ending: the sign-in dialog over the page says so and asks again.
  if (!error || error.status === 401) return null;
  // A refused value (the form's own checks, the service's 422) is the user's to fix, not a fault;
  // the service's status stays in view for whoever reports it.
  if (error.invalid || error.status === 422) {
    return (
      <div className="error" role="alert" data-testid="invalid">
        <strong>{t('common.invalid')}</strong>{error.message}{error.status ? ` (${error.status})` : ''}
      </div>
    );
  }
  return (
    <div className="error" role="alert">
      <strong>{t('common.error')}</strong>{error.status ? ` (${error.status})` : ''}: {error.message}
    </div>
  );
}
