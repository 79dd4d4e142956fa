// One process: its versions and diagram with a heat map from the analytics, and a diff between
// two versions highlighted on both diagrams.
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { get, request } from '../api.js';
import { useAuth } from '../auth.jsx';
import BpmnDiagram from '../components/BpmnDiagram.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import { diffMarkers, versionDiff } from '../diffing.js';
import { formatTime } from '../format.js';
import { heatLayers } from '../heat.js';
import { useLoad } from '../useLoad.js';

const TABS = ['diagram', 'diff'];
const xmlOf = (key, version) => request(`/process-definitions/${key}/xml`, { params: { version }, raw: true });

function DiagramTab({ definition, version, heat, setParam }) {
  const { t } = useTranslation();
  const { me } = useAuth();
  const xml = useLoad(() => xmlOf(definition.key, version), [definition.key, version]);
  const steps = useLoad(
    () => (heat && me.roles.analytics ? get('/analytics/steps', { key: definition.key, version }) : Promise.resolve(null)),
    [definition.key, version, heat],
  );
  const layers = useMemo(
    () => (steps.data ? heatLayers(steps.data.items, heat) : { markers: {}, notes: [], rows: [] }),
    [steps.data, heat],
  );
  return (
    <>
      <div className="row">
        <label>{t('processes.versions')}
          <select value={version} onChange={(e) => setParam({ v: e.target.value })}>
            {definition.versions.map((v) => <option key={v.version} value={v.version}>{v.version}</option>)}
          </select>
        </label>
        {me.roles.analytics && (
          <label>{t('processes.heatmap')}
            <select value={heat || ''} onChange={(e) => setParam({ heat: e.target.value })}>
              <option value="">{t('processes.heatNone')}</option>
              <option value="median">{t('processes.heatMedian')}</option>
              <option value="late">{t('processes.heatBreach')}</option>
            </select>
          </label>
        )}
      </div>
      <ErrorNote error={xml.error || steps.error} />
      {heat && steps.data && steps.data.items.length === 0 && <p className="muted">{t('processes.heatEmpty')}</p>}
      <BpmnDiagram xml={xml.data} markers={layers.markers} notes={layers.notes} label={t('processes.diagram')} />
      {layers.rows.length > 0 && (
        <table className="grid compact" data-testid="heat-table">
          <thead><tr><th scope="col">{t('whatif.element')}</th><th scope="col">{t(heat === 'late' ? 'processes.heatBreach' : 'processes.heatMedian')}</th><th scope="col">{t('processes.completions')}</th></tr></thead>
          <tbody>
            {layers.rows.map((r) => (
              <tr key={r.element}><td>{r.name} <code className="muted">{r.element}</code></td><td>{r.text}</td><td>{r.completions}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function DiffTab({ definition, from, to, setParam }) {
  const { t } = useTranslation();
  const result = useLoad(async () => {
    const [oldXml, newXml] = await Promise.all([xmlOf(definition.key, from), xmlOf(definition.key, to)]);
    return { oldXml, newXml, changes: await versionDiff(oldXml, newXml) };
  }, [definition.key, from, to]);
  const oldMarkers = useMemo(() => diffMarkers(result.data?.changes || [], 'old'), [result.data]);
  const newMarkers = useMemo(() => diffMarkers(result.data?.changes || [], 'new'), [result.data]);
  const select = (name, value) => (
    <select value={value} onChange={(e) => setParam({ [name]: e.target.value })}>
      {definition.versions.map((v) => <option key={v.version} value={v.version}>{v.version}</option>)}
    </select>
  );
  return (
    <>
      <div className="row">
        <label>{t('processes.fromVersion')} {select('from', from)}</label>
        <label>{t('processes.toVersion')} {select('to', to)}</label>
      </div>
      <ErrorNote error={result.error} />
      {result.data && (
        <>
          <div className="legend">
            {['added', 'removed', 'changed', 'layout'].map((k) => (
              <span key={k}><span className={`swatch sw-${k}`} />{t(`processes.${k}`)}</span>
            ))}
          </div>
          {result.data.changes.length === 0 ? <p className="muted">{t('processes.noChanges')}</p> : (
            <table className="grid" data-testid="changes">
              <tbody>
                {result.data.changes.map((c) => (
                  <tr key={`${c.kind}-${c.id}`} data-kind={c.kind}>
                    <td><span className={`badge diff-${c.kind}`}>{t(`processes.${c.kind}`)}</span></td>
                    <td>{c.name}</td>
                    <td><code>{c.id}</code> <span className="muted">{c.type.replace('bpmn:', '')}</span></td>
                    <td className="muted">{(c.attrs || []).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>{t('processes.versionN', { version: from })}</h2>
          <BpmnDiagram xml={result.data.oldXml} markers={oldMarkers} className="diagram small" label={`v${from}`} />
          <h2>{t('processes.versionN', { version: to })}</h2>
          <BpmnDiagram xml={result.data.newXml} markers={newMarkers} className="diagram small" label={`v${to}`} />
        </>
      )}
    </>
  );
}

export default function ProcessDetail() {
  const { key } = useParams();
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const definition = useLoad(() => get(`/process-definitions/${key}`), [key]);
  const tab = TABS.includes(params.get('tab')) ? params.get('tab') : 'diagram';

  function setParam(changes) {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' || v == null) next.delete(k);
      else next.set(k, v);
    }
    setParams(next);
  }

  if (definition.error) return <ErrorNote error={definition.error} />;
  if (!definition.data) return <p className="muted">{t('common.loading')}</p>;
  const d = definition.data;
  const latest = d.latest_version;
  const version = Number(params.get('v')) || latest;
  const to = Number(params.get('to')) || latest;
  const from = Number(params.get('from')) || Math.max(1, to - 1);

  return (
    <section>
      <p><Link to="/processes">← {t('processes.title')}</Link></p>
      <h1>{d.name || d.key} <code className="muted">{d.key}</code></h1>
      <table className="grid compact">
        <thead><tr><th scope="col">{t('processes.versions')}</th><th scope="col">{t('processes.deployedAt')}</th><th scope="col">{t('processes.file')}</th></tr></thead>
        <tbody>
          {d.versions.map((v) => (
            <tr key={v.version}><td>{v.version}</td><td>{formatTime(v.deployed_at, i18n.language)}</td><td>{v.resource_name}</td></tr>
          ))}
        </tbody>
      </table>
      <div className="tabs" role="tablist">
        {TABS.map((name) => (
          <button key={name} type="button" role="tab" aria-selected={tab === name}
            className={tab === name ? 'tab active' : 'tab'} onClick={() => setParam({ tab: name })}>
            {t(`processes.tab.${name}`)}
          </button>
        ))}
      </div>
      {tab === 'diagram' && <DiagramTab definition={d} version={version} heat={params.get('heat')} setParam={setParam} />}
      {tab === 'diff' && <DiffTab definition={d} from={from} to={to} setParam={setParam} />}
    </section>
  );
}
