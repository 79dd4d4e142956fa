import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth.jsx';

export default function SignIn() {
  const { t } = useTranslation();
  const { signIn, expired, me } = useAuth();
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
    } catch (e) {
      setError(e.status === 401 ? t('auth.invalid') : e.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card signin" onSubmit={submit}>
      <h1 id="signin-title">{t('auth.title')}</h1>
      {expired && <p className="notice">{me ? t('auth.signInAgain', { user: me.user_id }) : t('auth.signedOutBecause')}</p>}
      <label htmlFor="token">{t('auth.token')}</label>
      <input id="token" type="password" autoComplete="current-password" required autoFocus
        value={token} onChange={(e) => setToken(e.target.value)}
        aria-describedby="token-hint" aria-invalid={error ? 'true' : undefined} />
      <p id="token-hint" className="muted">{t('auth.tokenHint')}</p>
      {error && <p className="field-error" role="alert">{error}</p>}
      <button type="submit" className="primary" disabled={busy || !token.trim()}>{t('auth.submit')}</button>
    </form>
  );
}
