// Repairs for supervisors: set variables, move the token, retry a failed step, migrate to another
// version. Each needs a reason, goes through the public API (which checks the supervisor groups
// again) and is shown only when this server offers it; errors are answered inside the form.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { offers } from '../capabilities.js';
import MigrateForm from './repair/MigrateForm.jsx';
import MoveForm from './repair/MoveForm.jsx';
import RetryForm from './repair/RetryForm.jsx';
import VariablesForm from './repair/VariablesForm.jsx';

export function repairsOffered(caps) {
  const offered = [];
  const variables = ['PATCH', 'PUT'].find((m) => offers(caps, m, '/process-instances/{}/variables'));
  if (variables) offered.push('variables');
  if (offers(caps, 'POST', '/process-instances/{}/modification')) offered.push('move');
  if (offers(caps, 'POST', '/process-instances/{}/retry')) offered.push('retry');
  if (offers(caps, 'POST', '/migrations')) offered.push('migrate');
  return { offered, variablesMethod: variables };
}

// Migrating needs a version of the process other than the case's.
export function canMigrate(instance, versions) {
  return versions.some((v) => v !== instance.version);
}

export default function Repair({ instance, texts, caps, steps, versions, active, failed, arrivals, picked, onDone }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(null);
  const [done, setDone] = useState(null);
  const panel = useRef(null);
  const { offered: all, variablesMethod } = repairsOffered(caps);
  // Retry is for a step whose open incident lists it (`failed`), migration for a process with
  // another version; setting variables and moving the token are always a supervisor's.
  const offered = all.filter((kind) => (kind !== 'retry' || failed.length > 0)
    && (kind !== 'migrate' || canMigrate(instance, versions)));

  useEffect(() => {
    if (open) panel.current?.querySelector('h3')?.focus();
  }, [open]);

  if (instance.status !== 'active' || offered.length === 0) return null;

  function finished(kind) {
    setOpen(null);
    setDone(kind);
    onDone();
  }

  return (
    <section className="card repair" aria-labelledby="repair-title" data-testid="repair">
      <h2 id="repair-title">{t('cases.repair')}</h2>
      <div className="actions" role="group" aria-label={t('cases.repair')}>
        {offered.map((kind) => (
          <button key={kind} type="button" aria-expanded={open === kind} aria-controls="repair-panel"
            className={open === kind ? 'primary' : ''} onClick={() => { setDone(null); setOpen(open === kind ? null : kind); }}>
            {t(`repair.${kind}.open`)}
          </button>
        ))}
      </div>
      {done && <p className="notice" role="status" data-testid="repair-done">{t(`repair.${done}.done`)}</p>}
      <div id="repair-panel" ref={panel}>
        {open === 'variables' && <VariablesForm instance={instance} texts={texts} method={variablesMethod} onDone={() => finished('variables')} />}
        {open === 'move' && <MoveForm instance={instance} steps={steps} active={active} arrivals={arrivals} picked={picked} onDone={() => finished('move')} />}
        {open === 'retry' && <RetryForm instance={instance} failed={failed} onDone={() => finished('retry')} />}
        {open === 'migrate' && <MigrateForm instance={instance} onDone={() => finished('migrate')} />}
      </div>
    </section>
  );
}
