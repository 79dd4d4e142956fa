// One repair request: busy while it runs, the error answered inline (with 422 field errors by
// field), done() after success. A blank reason is caught before asking the service. After a
// refusal the keyboard goes to the first field in error, as on the task form.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';

// reasonId: the reason field, focused when it is blank or refused; locate(field): the id of the
// element showing a 422's field (e.g. "variables.x"), or null.
export function useAction(reasonId, done, locate) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [reasonMissing, setReasonMissing] = useState(false);
  // The field to focus once the refusal shows (a field is focused after it renders its error).
  const [focusId, setFocusId] = useState(null);
  useEffect(() => {
    if (!focusId) return;
    document.getElementById(focusId)?.focus();
    setFocusId(null);
  }, [focusId]);

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
      const fields = e?.fieldErrors ? Object.keys(e.fieldErrors()) : [];
      const ids = fields.map((f) => (f === 'reason' ? reasonId : locate?.(f)));
      setFocusId(ids.find((id) => id && document.getElementById(id)) || null);
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  const fieldErrors = error?.fieldErrors ? { ...error.fieldErrors() } : {};
  if (reasonMissing) fieldErrors.reason = [t('repair.reasonMissing')];
  return { busy, error, fieldErrors, run };
}
