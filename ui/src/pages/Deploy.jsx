// Deploy a .bpmn file: a dropped draft is checked first by the service's dry run (nothing is
// stored) and its problems and warnings are listed and marked on its diagram; the analyst deploys
// it when it is clean and they confirm. Whatever a deploy refuses is shown the same way.
import { useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, request } from '../api.js';
import BpmnDiagram from '../components/BpmnDiagram.jsx';
import DropFile from '../components/DropFile.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import WhatIf from '../components/WhatIf.jsx';
import { useAuth } from '../auth.jsx';
import { loadCapabilities, offers } from '../capabilities.js';
import { loadDefinitions } from '../definitions.js';
import { findingLayers, refusedFindings } from '../findings.js';

function upload(file, params) {
  const form = new FormData();
  form.append('files', file, file.name);
  return request('/deployments', { method: 'POST', form, params });
}

function Findings({ title, items, kind, onShow }) {
  const { t } = useTranslation();
  if (!items?.length) return null;
  return (
    <div className={kind === 'error' ? 'error' : 'notice warning'} data-testid={`findings-${kind}`}>
      <strong>{title} ({items.length})</strong>
      <ul className="findings">
        {items.map((f, i) => (
          <li key={i} data-element={f.element || undefined} data-code={f.code || undefined}>
            <code>{f.file}{f.line ? `:${f.line}` : ''}</code>
            {f.element ? (
              <> [<button type="button" className="link" onClick={() => onShow(f.element)}
                title={t('processes.showOnDiagram')}><code>{f.element}</code></button>]</>
            ) : null}
            : {f.message}
            {f.code && <span className="muted"> ({f.code})</span>}
            {f.hint && <div className="muted">{f.hint}</div>}
          </li>
        ))}
      </ul>
    </div>
  );
}

export default function Deploy({ onDeployed }) {
  const { t } = useTranslation();
  const { me } = useAuth();
  const [draft, setDraft] = useState(null);
  const [check, setCheck] = useState(null);
  const [checking, setChecking] = useState(false);
  const [problems, setProblems] = useState([]);
  const [warnings, setWarnings] = useState([]);
  const [deployed, setDeployed] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState([]);
  const [dryRun, setDryRun] = useState(false);
  // A file dropped while an older one is being checked: only the newest answer counts.
  const dropped = useRef(0);
  const layers = useMemo(() => findingLayers(problems, warnings), [problems, warnings]);

  async function take(file) {
    const mine = ++dropped.current;
    setDeployed(null);
    setError(null);
    setProblems([]);
    setWarnings([]);
    setCheck(null);
    const xml = await file.text();
    setDraft({ file, xml });
    setShown([]);
    // An older server has no dry run: the deploy itself then says what it refuses.
    const offered = offers(await loadCapabilities(), 'POST', '/deployments', 'dry_run');
    setDryRun(offered);
    if (!offered || mine !== dropped.current) return;
    setChecking(true);
    try {
      // The version the dry run names is the deployed one when the file is identical to it
      // (deploying it would store nothing): the deployed versions tell the two apart.
      const [answer, known] = await Promise.all([
        upload(file, { dry_run: 'true' }), loadDefinitions(true).catch(() => null),
      ]);
      if (mine !== dropped.current) return;
      const latest = new Map((known || []).map((d) => [d.key, d.latest_version]));
      for (const p of answer.processes || []) p.unchanged = latest.get(p.key) === p.version;
      setCheck(answer);
      setProblems(answer.problems || []);
      setWarnings(answer.warnings || []);
      setShown((answer.problems || []).map((p) => p.element).filter(Boolean));
    } catch (e) {
      if (mine === dropped.current) refuse(e);
    } finally {
      if (mine === dropped.current) setChecking(false);
    }
  }

  function refuse(e) {
    const found = e instanceof ApiError && e.status === 422 ? refusedFindings(e.details) : null;
    if (found) {
      // A refusal lists the errors and, after them, what only warns.
      const errors = found.filter((p) => p.severity !== 'warning');
      setProblems(errors);
      setWarnings(found.filter((p) => p.severity === 'warning'));
      setShown(errors.map((p) => p.element).filter(Boolean));
    } else {
      setError(e);
    }
  }

  async function deploy() {
    setBusy(true);
    setError(null);
    try {
      const result = await upload(draft.file);
      setWarnings(result.warnings || []);
      setProblems([]);
      setDeployed(result);
      // The list of processes beside the drop zone shows the new version at once.
      if (onDeployed) onDeployed();
      else loadDefinitions(true);
    } catch (e) {
      refuse(e);
    } finally {
      setBusy(false);
    }
  }

  const clean = problems.length === 0 && (!dryRun || check?.valid);
  // Every process of the file identical to its deployed version: nothing to confirm.
  const nothingNew = Boolean(check?.processes?.length) && check.processes.every((p) => p.unchanged);
  return (
    <section className="card" aria-labelledby="deploy-title">
      <h2 id="deploy-title">{t('processes.deploy')}</h2>
      <DropFile onFile={take} />
      <ErrorNote error={error} />
      {draft && (
        <>
          <p><strong>{draft.file.name}</strong></p>
          {checking && <p className="muted" role="status">{t('processes.checking')}</p>}
          <Findings title={t('processes.problems')} items={problems} kind="error" onShow={(id) => setShown([id])} />
          <Findings title={t('processes.warnings')} items={warnings} kind="warning" onShow={(id) => setShown([id])} />
          {check && !deployed && (
            <div className={check.valid ? 'notice' : 'muted'} role="status" data-testid="dry-run" data-valid={String(!!check.valid)}>
              {check.valid
                ? <p>{t('processes.checked')}{(check.processes || []).map((p) => (
                  <span key={p.key} className="will" data-unchanged={String(p.unchanged)}>
                    {' '}{t(p.unchanged ? 'processes.identical' : 'processes.wouldDeploy', { key: p.key, version: p.version })}
                  </span>
                ))}</p>
                : <p>{t('processes.fixFirst')}</p>}
            </div>
          )}
          {deployed && (
            <div className="notice" role="status" data-testid="deployed">
              {deployed.definitions.map((d) => (
                <p key={d.id}>
                  {d.created ? t('processes.deployed', { key: d.key, version: d.version }) : t('processes.unchanged', { key: d.key })}
                  {d.created && d.version > 1 && (
                    <> · <Link to={`/processes/${d.key}?tab=diff&from=${d.version - 1}&to=${d.version}`}>{t('processes.diff')}</Link></>
                  )}
                </p>
              ))}
            </div>
          )}
          {!deployed && (!dryRun || check) && clean && !nothingNew && (
            <div className="actions">
              <button type="button" className="primary" disabled={busy} onClick={deploy}>
                {dryRun ? t('processes.confirmDeploy') : t('processes.doDeploy')}
              </button>
            </div>
          )}
          <BpmnDiagram xml={draft.xml} markers={layers.markers} notes={layers.notes} focus={shown}
            label={draft.file.name} />
          {me.roles.analytics && clean && !deployed && <WhatIf file={draft.file} xml={draft.xml} />}
        </>
      )}
    </section>
  );
}
