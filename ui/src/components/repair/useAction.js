// One repair request: busy while it runs, the error answered inline (with 422 field errors by
// field), done() after success. A blank reason is caught before asking the service.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

// reasonId: the reason field, focused when it is blank.
export function useAction(reasonId, done) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [reasonMissing, setReasonMissing] = useState(false);

  async function run(reason, call) {
    if (!reason.trim()) {
      setReasonMissing(true);
      document.getElementById(reasonId)?.focus();
      return undefined;
    }
    setReasonMissing(false);
    setBusy(true);
    setError(null);
    try {
      const result = await call();
      done?.(result);
      return result;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  const fieldErrors = error?.fieldErrors ? { ...error.fieldErrors() } : {};
  if (reasonMissing) fieldErrors.reason = [t('repair.reasonMissing')];
  return { busy, error, fieldErrors, run };
}
