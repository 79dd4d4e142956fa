// Deploy a .bpmn file: the draft is shown as a diagram; whatever the service refuses is listed
// with file, line and element, and marked on the diagram. A refused upload stores nothing.
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, request } from '../api.js';
import BpmnDiagram from '../components/BpmnDiagram.jsx';
import DropFile from '../components/DropFile.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import WhatIf from '../components/WhatIf.jsx';
import { useAuth } from '../auth.jsx';
import { loadDefinitions } from '../definitions.js';
import { findingLayers } from '../findings.js';

function upload(file, params) {
  const form = new FormData();
  form.append('files', file, file.name);
  return request('/deployments', { method: 'POST', form, params });
}

function Findings({ title, items, kind }) {
  if (!items?.length) return null;
  return (
    <div className={kind === 'error' ? 'error' : 'notice'} data-testid={`findings-${kind}`}>
      <strong>{title} ({items.length})</strong>
      <ul className="findings">
        {items.map((f, i) => (
          <li key={i}>
            <code>{f.file}{f.line ? `:${f.line}` : ''}</code>{f.element ? <> [<code>{f.element}</code>]</> : null}: {f.message}
            {f.hint && <div className="muted">{f.hint}</div>}
          </li>
        ))}
      </ul>
    </div>
  );
}

export default function Deploy() {
  const { t } = useTranslation();
  const { me } = useAuth();
  const [draft, setDraft] = useState(null);
  const [problems, setProblems] = useState([]);
  const [warnings, setWarnings] = useState([]);
  const [deployed, setDeployed] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const layers = useMemo(() => findingLayers(problems, warnings), [problems, warnings]);

  async function take(file) {
    setDeployed(null);
    setError(null);
    setProblems([]);
    setWarnings([]);
    setDraft({ file, xml: await file.text() });
  }

  async function deploy() {
    setBusy(true);
    setError(null);
    try {
      const result = await upload(draft.file);
      setWarnings(result.warnings || []);
      setProblems([]);
      setDeployed(result);
      loadDefinitions(true);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && Array.isArray(e.details)) {
        setProblems(e.details);
      } else {
        setError(e);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="deploy-title">
      <h2 id="deploy-title">{t('processes.deploy')}</h2>
      <DropFile onFile={take} />
      <ErrorNote error={error} />
      {draft && (
        <>
          <p><strong>{draft.file.name}</strong></p>
          <Findings title={t('processes.problems')} items={problems} kind="error" />
          <Findings title={t('processes.warnings')} items={warnings} kind="warning" />
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
          <div className="actions">
            <button type="button" className="primary" disabled={busy || !!deployed} onClick={deploy}>{t('processes.doDeploy')}</button>
          </div>
          <BpmnDiagram xml={draft.xml} markers={layers.markers} notes={layers.notes} focus={problems.map((p) => p.element)}
            label={draft.file.name} />
          {me.roles.analytics && problems.length === 0 && !deployed && <WhatIf file={draft.file} xml={draft.xml} />}
        </>
      )}
    </section>
  );
}
