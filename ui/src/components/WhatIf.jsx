// What-if before deploy: the shipped simulation scenario on the deployed version and on the draft,
// run by the service in the background (POST /simulations, polled), shown side by side and on
// the draft's diagram where the time moved.
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get, request } from '../api.js';
import BpmnDiagram from './BpmnDiagram.jsx';
import ErrorNote from './ErrorNote.jsx';

const FIGURES = ['total_wd_p50', 'total_wd_p90', 'utility_wd_p50', 'procedures_mean', 'hall_visits_mean', 'handoffs_mean'];
const num = (v, digits = 1) => (v == null ? '–' : Number(v).toFixed(digits));
const pct = (v) => (v == null ? '–' : `${Math.round(v * 100)}%`);

function delta(before, after, lowerIsBetter = true) {
  if (before == null || after == null || before === after) return '';
  const better = lowerIsBetter ? after < before : after > before;
  return better ? 'better' : 'worse';
}

function timeLayers(elements) {
  const markers = {};
  const notes = [];
  for (const e of elements) {
    if (Math.abs(e.delta_wd) < 0.01) continue;
    markers[e.element_id] = [e.delta_wd < 0 ? 'm-faster' : 'm-slower'];
    notes.push({ element: e.element_id, kind: e.delta_wd < 0 ? 'faster' : 'slower',
      text: `${e.delta_wd > 0 ? '+' : ''}${e.delta_wd.toFixed(2)} WD`,
      title: `${e.name}: ${num(e.deployed_wd, 2)} → ${num(e.candidate_wd, 2)} WD` });
  }
  return { markers, notes };
}

function Comparison({ result, xml }) {
  const { t } = useTranslation();
  const layers = useMemo(() => timeLayers(result.elements), [result]);
  return (
    <div data-testid="whatif-result">
      <p className="muted">{t('whatif.basis', { applications: result.applications, version: result.deployed_version, seed: result.seed })}</p>
      <table className="grid compare">
        <thead>
          <tr>
            <th scope="col">{t('whatif.category')}</th>
            {FIGURES.map((f) => <th key={f} scope="col">{t(`whatif.figures.${f}`)}</th>)}
            <th scope="col">{t('whatif.timeLimits')}</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(result.categories).map(([category, sides]) => {
            const d = sides.deployed || {};
            const c = sides.candidate || {};
            const limits = [...new Set([...Object.keys(d.time_limits || {}), ...Object.keys(c.time_limits || {})])];
            return (
              <tr key={category} data-category={category}>
                <th scope="row">{t(`whatif.categories.${category}`, category)} <span className="muted">({c.completed ?? 0})</span></th>
                {FIGURES.map((f) => (
                  <td key={f} className={delta(d[f], c[f])}>{num(d[f])} → <strong>{num(c[f])}</strong></td>
                ))}
                <td>
                  {limits.map((id) => {
                    const before = d.time_limits?.[id]?.share_met;
                    const after = c.time_limits?.[id]?.share_met;
                    return <div key={id} className={delta(before, after, false)}><code>{id}</code> {pct(before)} → <strong>{pct(after)}</strong></div>;
                  })}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {['deployed', 'candidate'].map((side) => result.steps_without_duration[side].length > 0 && (
        <p key={side} className="notice">{t(`whatif.noDuration.${side}`)}: {result.steps_without_duration[side].join(', ')}</p>
      ))}
      {['deployed', 'candidate'].map((side) => result.failed[side] > 0 && (
        <p key={`f-${side}`} className="error">{t(`whatif.failed.${side}`, { count: result.failed[side] })}</p>
      ))}
      <h3>{t('whatif.whereTime')}</h3>
      <div className="legend">
        <span><span className="swatch sw-faster" />{t('whatif.faster')}</span>
        <span><span className="swatch sw-slower" />{t('whatif.slower')}</span>
      </div>
      <BpmnDiagram xml={xml} markers={layers.markers} notes={layers.notes} label={t('whatif.whereTime')} />
      <table className="grid compact" data-testid="whatif-elements">
        <thead><tr><th scope="col">{t('whatif.element')}</th><th scope="col">{t('whatif.deployed')}</th><th scope="col">{t('whatif.candidate')}</th><th scope="col">Δ WD</th></tr></thead>
        <tbody>
          {result.elements.filter((e) => Math.abs(e.delta_wd) >= 0.01).slice(0, 15).map((e) => (
            <tr key={e.element_id}>
              <td>{e.name} <code className="muted">{e.element_id}</code></td>
              <td>{num(e.deployed_wd, 2)}</td><td>{num(e.candidate_wd, 2)}</td>
              <td className={e.delta_wd < 0 ? 'better' : 'worse'}>{e.delta_wd > 0 ? '+' : ''}{e.delta_wd.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function WhatIf({ file, xml }) {
  const { t } = useTranslation();
  const [applications, setApplications] = useState(200);
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  // Failed polls in a row: a busy or restarting server must not end the wait for good.
  const [misses, setMisses] = useState(0);

  useEffect(() => { setJob(null); setError(null); setMisses(0); }, [file]);

  useEffect(() => {
    if (!job || job.status === 'done' || job.status === 'failed') return undefined;
    const delay = Math.min(1000 * 2 ** misses, 15000);
    const timer = setTimeout(() => get(`/simulations/${job.id}`).then(
      (next) => { setError(null); setMisses(0); setJob(next); },
      (e) => {
        setError(e);
        // The job is gone or no longer ours: asking again cannot help.
        if (![401, 403, 404].includes(e.status)) setMisses((n) => n + 1);
      },
    ), delay);
    return () => clearTimeout(timer);
  }, [job, misses]);

  async function start(event) {
    event.preventDefault();
    setError(null);
    const form = new FormData();
    form.append('candidate', file, file.name);
    form.append('applications', String(applications));
    try {
      setJob(await request('/simulations', { method: 'POST', form }));
    } catch (e) {
      setError(e);
    }
  }

  const running = job && (job.status === 'queued' || job.status === 'running');
  return (
    <section className="card" aria-labelledby="whatif-title">
      <h2 id="whatif-title">{t('whatif.title')}</h2>
      <p className="muted">{t('whatif.explain')}</p>
      <form className="row" onSubmit={start}>
        <label>{t('whatif.applications')}
          <input type="number" min={1} max={2000} required value={applications}
            onChange={(e) => setApplications(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={running}>{t('whatif.run')}</button>
      </form>
      <ErrorNote error={error} />
      {job && (
        <div aria-live="polite" data-testid="whatif-status" data-status={job.status}>
          <p>{t(`whatif.status.${job.status}`)} {job.status !== 'failed' && `${Math.round(job.progress * 100)}%`}</p>
          {running && <progress className="progress" max={job.total} value={job.done}>{Math.round(job.progress * 100)}%</progress>}
          {job.status === 'failed' && <p className="error" role="alert">{job.error}</p>}
        </div>
      )}
      {job?.status === 'done' && <Comparison result={job.result} xml={xml} />}
    </section>
  );
}
