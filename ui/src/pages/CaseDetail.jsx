// One case: where it stands on its diagram (open tasks highlighted, the path so far shaded), its
// open tasks, figures, variables and history.
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { get, request } from '../api.js';
import BpmnDiagram from '../components/BpmnDiagram.jsx';
import DueBadge from '../components/DueBadge.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import { formatTime } from '../format.js';
import { useLoad } from '../useLoad.js';

// History events that mean the element was passed.
const PASSED = new Set(['task_completed', 'engine_step', 'external_task_completed']);

async function loadCase(id) {
  const instance = await get(`/process-instances/${id}`);
  const [xml, metrics] = await Promise.all([
    request(`/process-definitions/${instance.definition_key}/xml`, {
      params: { version: instance.version }, raw: true,
    }),
    get(`/process-instances/${id}/metrics`),
  ]);
  return { instance, xml, metrics };
}

function positions(instance) {
  const active = new Set(instance.tasks.map((task) => task.element_id));
  const done = new Set();
  for (const event of instance.history) {
    if (event.element_id && PASSED.has(event.type)) done.add(event.element_id);
    if (event.element_id && event.type === 'external_task_created') active.add(event.element_id);
    if (event.element_id && event.type === 'external_task_completed') active.delete(event.element_id);
  }
  if (instance.status !== 'active') active.clear();
  for (const id of active) done.delete(id);
  return { active, done };
}

function History({ events }) {
  const { t, i18n } = useTranslation();
  return (
    <ol className="timeline" data-testid="history">
      {events.map((event) => (
        <li key={event.id}>
          <time dateTime={event.occurred_at}>{formatTime(event.occurred_at, i18n.language)}</time>
          <strong>{t(`events.${event.type}`, event.type)}</strong>{' '}
          {event.details?.name || event.element_id || ''}
          {event.actor && <span className="muted"> · {event.actor}</span>}
          {event.details?.reason && <span className="muted"> · {event.details.reason}</span>}
        </li>
      ))}
    </ol>
  );
}

export default function CaseDetail() {
  const { instanceId } = useParams();
  const { t, i18n } = useTranslation();
  const loaded = useLoad(() => loadCase(instanceId), [instanceId]);
  const where = useMemo(() => (loaded.data ? positions(loaded.data.instance) : null), [loaded.data]);
  const markers = useMemo(() => {
    if (!where) return {};
    const m = {};
    for (const id of where.done) m[id] = ['m-done'];
    for (const id of where.active) m[id] = ['m-active'];
    return m;
  }, [where]);
  const flows = useMemo(() => where && {
    from: where.done, to: new Set([...where.done, ...where.active]), marker: 'm-done',
  }, [where]);

  const focusIds = useMemo(() => (where ? [...where.active] : []), [where]);

  if (loaded.error) return <ErrorNote error={loaded.error} />;
  if (!loaded.data) return <p className="muted">{t('common.loading')}</p>;
  const { instance, xml, metrics } = loaded.data;

  return (
    <section>
      <p><Link to="/cases">← {t('cases.title')}</Link></p>
      <h1>{instance.business_key}</h1>
      <dl className="facts">
        <div><dt>{t('inbox.process')}</dt><dd>{instance.definition_key}</dd></div>
        <div><dt>{t('cases.version')}</dt><dd>{instance.version}</dd></div>
        <div><dt>{t('cases.status')}</dt><dd><span className={`badge badge-${instance.status}`}>{t(`cases.statuses.${instance.status}`, instance.status)}</span></dd></div>
        <div><dt>{t('cases.started')}</dt><dd>{formatTime(instance.started_at, i18n.language)} · {instance.started_by}</dd></div>
        <div><dt>{t('cases.procedures')}</dt><dd>{metrics.customer_procedures.length}</dd></div>
        <div><dt>{t('cases.hallVisits')}</dt><dd>{metrics.hall_visits}</dd></div>
        <div><dt>{t('cases.handoffs')}</dt><dd>{metrics.handoffs}</dd></div>
      </dl>
      <h2>{t('cases.diagram')}</h2>
      <div className="legend">
        <span><span className="swatch" style={{ background: '#dbe9fb', borderColor: '#0b5cab' }} />{t('cases.legend.active')}</span>
        <span><span className="swatch" style={{ background: '#e3e7ec' }} />{t('cases.legend.done')}</span>
      </div>
      <BpmnDiagram xml={xml} markers={markers} flows={flows} focus={focusIds} label={t('cases.diagram')} />
      <div className="two">
        <div>
          <h2>{t('cases.openTasks')}</h2>
          {instance.tasks.length === 0 ? <p className="muted">{t('common.none')}</p> : (
            <ul data-testid="open-tasks">
              {instance.tasks.map((task) => (
                <li key={task.id}>
                  <Link to={`/tasks/${task.id}`}>{task.name}</Link>{' '}
                  <span className="muted">{task.lane} · {task.assignee || task.candidate_groups.join(', ')}</span>{' '}
                  <DueBadge task={task} />
                </li>
              ))}
            </ul>
          )}
          <details>
          <summary><h2 className="inline">{t('cases.variables')}</h2></summary>
          <table className="grid">
            <tbody>
              {Object.entries(instance.variables).map(([name, value]) => (
                <tr key={name}><th scope="row">{name}</th><td>{typeof value === 'object' ? JSON.stringify(value) : String(value)}</td></tr>
              ))}
            </tbody>
          </table>
          </details>
        </div>
        <div>
          <h2>{t('cases.history')}</h2>
          <History events={instance.history} />
        </div>
      </div>
    </section>
  );
}
