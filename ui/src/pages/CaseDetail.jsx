// One case: where it stands on its diagram (the elements it waits in highlighted, the path so far
// shaded, each time limit's state on the steps it covers), what it waits for, its time limits,
// incidents, figures, variables and history; repairs for supervisors. Parts the server does not
// offer (an older server answers 404) are left out.
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { get, getOptional, request } from '../api.js';
import { activityMarkers, joinArrivals } from '../activities.js';
import { useAuth } from '../auth.jsx';
import { loadCapabilities, offers } from '../capabilities.js';
import BpmnDiagram from '../components/BpmnDiagram.jsx';
import DueBadge from '../components/DueBadge.jsx';
import ErrorNote from '../components/ErrorNote.jsx';
import IncidentList from '../components/IncidentList.jsx';
import Repair, { canMigrate } from '../components/Repair.jsx';
import TimeLimitList from '../components/TimeLimitList.jsx';
import WaitsFor from '../components/WaitsFor.jsx';
import { formFieldsOf, stepsOf } from '../elements.js';
import { formatTime } from '../format.js';
import { limitLayers, mergeMarkers } from '../timelimits.js';
import { useLoad } from '../useLoad.js';
import { shownValue, variableTexts } from '../variables.js';

// History events that mean the element was passed.
const PASSED = new Set(['task_completed', 'engine_step', 'external_task_completed']);

const items = (answer) => (answer == null ? null : Array.isArray(answer) ? answer : answer.items || []);

// Who may list incidents (GET /incidents answers 403 to everyone else, a clerk among them):
// supervisors, analysts, workers and admins, as GET /me's roles say.
function readsIncidents(roles) {
  return Boolean(roles && (roles.supervisor || roles.analyst || roles.worker || roles.admin));
}

async function loadCase(id, roles) {
  // As text: the variables' JSON texts keep what JSON.parse loses (80.0 is a float).
  const [answer, caps] = await Promise.all([
    request(`/process-instances/${id}`, { raw: true }), loadCapabilities(),
  ]);
  const instance = JSON.parse(answer);
  // An older GET /incidents lists every case's failed external tasks and takes no case filter:
  // only a server that filters by case is asked.
  const byCase = readsIncidents(roles) && offers(caps, 'GET', '/incidents', 'process_instance_id');
  const [xml, definition, metrics, standing, limits, incidents] = await Promise.all([
    request(`/process-definitions/${instance.definition_key}/xml`, {
      params: { version: instance.version }, raw: true,
    }),
    get(`/process-definitions/${instance.definition_key}`),
    get(`/process-instances/${id}/metrics`),
    getOptional(`/process-instances/${id}/activities`),
    getOptional(`/process-instances/${id}/time-limits`),
    byCase ? getOptional('/incidents', { process_instance_id: id }) : null,
  ]);
  return {
    instance, xml, metrics, caps,
    texts: variableTexts(answer, instance),
    versions: definition.versions.map((v) => v.version),
    // The name of the case's own version: a later one may have renamed the process.
    processName: definition.versions.find((v) => v.version === instance.version)?.name
      || definition.name || instance.definition_key,
    activities: standing ? standing.activities : null,
    limits: items(limits),
    incidents: items(incidents)?.filter((i) => (i.instance_id ?? i.process_instance_id) === id) ?? null,
  };
}

// Without GET .../activities (an older server): the open user tasks and the external tasks the
// history shows created and not completed.
function positionsFromHistory(instance) {
  const active = new Set(instance.tasks.map((task) => task.element_id));
  for (const event of instance.history) {
    if (event.element_id && event.type === 'external_task_created') active.add(event.element_id);
    if (event.element_id && event.type === 'external_task_completed') active.delete(event.element_id);
  }
  return { active, failed: new Set(), listening: new Set() };
}

// The steps a retry applies to: those whose open incidents list it among their repairs (a join
// left waiting lists none; retrying it is refused). Without the incidents (not readable here, or
// an older server that names no repairs), the steps that failed.
function retryable(incidents, failedIds) {
  if (!incidents) return [...failedIds];
  const ids = incidents.filter((i) => i.element_id && (!i.actions || i.actions.includes('retry')))
    .map((i) => i.element_id);
  return [...new Set(ids)];
}

function passed(instance) {
  const done = new Set();
  for (const event of instance.history) {
    if (event.element_id && PASSED.has(event.type)) done.add(event.element_id);
  }
  return done;
}

// Engine steps (gateways, scripts, events passed through) are many and rarely what a reader
// looks for: folded away until asked for.
const ENGINE_STEP = 'engine_step';

// An event names its element by the name it recorded, else by the diagram's (a claim records
// none), else by its id; a message event names its message; a completion lists what it
// submitted. Newest first.
function History({ events, stepById, fields }) {
  const { t, i18n } = useTranslation();
  const [steps, setSteps] = useState(false);
  const shown = events.filter((event) => steps || event.type !== ENGINE_STEP).slice().reverse();
  const hidden = events.length - events.filter((event) => event.type !== ENGINE_STEP).length;
  return (
    <>
      {hidden > 0 && (
        <label className="history-toggle">
          <input type="checkbox" checked={steps} onChange={(e) => setSteps(e.target.checked)} />{' '}
          {t('cases.showSteps')} <span className="muted">({hidden})</span>
        </label>
      )}
      <ol className="timeline" data-testid="history">
        {shown.map((event) => (
          <li key={event.id} data-type={event.type}>
            <time dateTime={event.occurred_at}>{formatTime(event.occurred_at, i18n.language)}</time>
            <strong>{t(`events.${event.type}`, event.type)}</strong>{' '}
            {event.details?.name || stepById.get(event.element_id)?.name || event.element_id || ''}
            {typeof event.details?.message === 'string' && <> <code className="chip-code">{event.details.message}</code></>}
            {event.actor && <span className="muted"> · {event.actor}</span>}
            {event.details?.reason && <span className="muted"> · {event.details.reason}</span>}
            <SubmittedValues event={event} fields={fields} />
            <RepairDetails details={event.details} stepById={stepById} />
          </li>
        ))}
      </ol>
    </>
  );
}

// The values a completion (a task's, an external system's, a message's) submitted, each by its
// form's label and an enumeration's value by its label (不通过, not REJECT), compactly.
const SUBMITTED = new Set(['task_completed', 'external_task_completed', 'message_received']);

function SubmittedValues({ event, fields }) {
  const { t } = useTranslation();
  const values = SUBMITTED.has(event.type) ? event.details?.variables : null;
  if (!values || typeof values !== 'object' || Array.isArray(values)) return null;
  const names = Object.keys(values).filter((name) => values[name] !== null && values[name] !== '');
  if (names.length === 0) return null;
  const form = fields.get(event.element_id);
  return (
    <ul className="submitted" data-testid="submitted">
      {names.map((name) => {
        const field = form?.get(name);
        const value = values[name];
        return (
          <li key={name}>
            <span className="muted" title={name}>{field?.label || name}: </span>
            <span className="value">{submittedText(value, field, t)}</span>
          </li>
        );
      })}
    </ul>
  );
}

function submittedText(value, field, t) {
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (typeof value === 'string') {
    const text = field?.values?.[value] ?? value;
    return text.length > 300 ? `${text.slice(0, 299)}…` : text;
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return value.join('、');
  return shortJson(value);
}

// What a repair did, for the audit trail: each variable's old and new value, each move's
// instruction. The history keeps both; the line above names only who did it and why.
function RepairDetails({ details, stepById }) {
  const { t } = useTranslation();
  const changes = Array.isArray(details?.changes) ? details.changes : [];
  const moves = Array.isArray(details?.instructions) ? details.instructions : [];
  if (changes.length === 0 && moves.length === 0) return null;
  return (
    <ul className="repair-details" data-testid="repair-details">
      {changes.map((change) => (
        <li key={`v-${change.name}`}>
          <code>{change.name}</code>: {shortJson(change.old)} → {shortJson(change.new)}
        </li>
      ))}
      {moves.map((move, i) => (
        <li key={`m-${i}`}>
          {t(`cases.moves.${move.type}`, move.type)}{' '}
          {stepById.get(move.element_id)?.name || move.element_id}
        </li>
      ))}
    </ul>
  );
}

function shortJson(value) {
  const text = value === undefined ? '—' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

// A variable's value as the service wrote it; a code the process labels (a customer category, an
// enum's value) by its label, with the code beside it as the time limits show their ids.
function VariableValue({ instance, texts, name }) {
  const text = shownValue(instance.variables, texts, name);
  const label = instance.value_labels?.[name];
  return label ? <>{label} <code className="muted">{text}</code></> : text;
}

function OpenTasks({ tasks }) {
  const { t } = useTranslation();
  if (tasks.length === 0) return <p className="muted">{t('common.none')}</p>;
  return (
    <ul data-testid="open-tasks">
      {tasks.map((task) => (
        <li key={task.id}>
          <Link to={`/tasks/${task.id}`}>{task.name}</Link>{' '}
          <span className="muted">{task.lane} · {task.assignee || task.candidate_groups.join(', ')}</span>{' '}
          <DueBadge task={task} />
        </li>
      ))}
    </ul>
  );
}

export default function CaseDetail() {
  const { instanceId } = useParams();
  const { t, i18n } = useTranslation();
  const { me } = useAuth();
  const [picked, setPicked] = useState(null);
  const incidentsReadable = readsIncidents(me.roles);
  const loaded = useLoad(() => loadCase(instanceId, me.roles), [instanceId, incidentsReadable]);
  const data = loaded.data;

  const where = useMemo(() => {
    if (!data) return null;
    const { instance, activities, incidents } = data;
    const at = instance.status !== 'active'
      ? { active: new Set(), failed: new Set(), listening: new Set() }
      : activities ? activityMarkers(activities) : positionsFromHistory(instance);
    // A step with an open incident is shown failed, wherever the token waits.
    for (const incident of instance.status === 'active' ? incidents || [] : []) {
      if (!incident.element_id) continue;
      at.active.delete(incident.element_id);
      at.failed.add(incident.element_id);
    }
    const done = passed(instance);
    for (const id of [...at.active, ...at.failed]) done.delete(id);
    return { ...at, done };
  }, [data]);

  const limitLabel = useCallback((state) => t(`limits.states.${state}`, state), [t]);
  const limitLayer = useMemo(
    () => (data?.limits ? limitLayers(data.limits, limitLabel) : { markers: {}, notes: [] }),
    [data, limitLabel],
  );
  const markers = useMemo(() => {
    if (!where) return {};
    const position = {};
    for (const id of where.done) position[id] = ['m-done'];
    for (const id of where.active) position[id] = ['m-active'];
    for (const id of where.failed) position[id] = ['m-failed'];
    for (const id of where.listening) position[id] = ['m-listening'];
    return mergeMarkers(position, limitLayer.markers);
  }, [where, limitLayer]);
  const flows = useMemo(() => where && {
    from: where.done, to: new Set([...where.done, ...where.active, ...where.failed]), marker: 'm-done',
  }, [where]);
  const focusIds = useMemo(() => (where ? [...where.failed, ...where.active] : []), [where]);
  const steps = useMemo(() => stepsOf(data?.xml), [data]);
  const fields = useMemo(() => formFieldsOf(data?.xml), [data]);

  if (loaded.error) return <ErrorNote error={loaded.error} />;
  if (!data) return <p className="muted">{t('common.loading')}</p>;
  const { instance, texts, xml, metrics, activities, limits, incidents, caps, versions, processName } = data;

  const stepById = new Map(steps.map((s) => [s.id, s]));
  const asStep = (id) => stepById.get(id) || { id, name: '' };
  const failedIds = new Set(where.failed);

  return (
    <section>
      <p><Link to="/cases">← {t('cases.title')}</Link></p>
      <h1>{instance.business_key}</h1>
      <dl className="facts">
        <div><dt>{t('inbox.process')}</dt><dd data-testid="case-process" title={instance.definition_key}>{processName}</dd></div>
        <div><dt>{t('cases.version')}</dt><dd data-testid="case-version">{instance.version}</dd></div>
        <div><dt>{t('cases.status')}</dt><dd><span className={`badge badge-${instance.status}`}>{t(`cases.statuses.${instance.status}`, instance.status)}</span></dd></div>
        <div><dt>{t('cases.started')}</dt><dd>{formatTime(instance.started_at, i18n.language)} · {instance.started_by}</dd></div>
        <div><dt>{t('cases.procedures')}</dt><dd>{metrics.customer_procedures.length}</dd></div>
        <div><dt>{t('cases.hallVisits')}</dt><dd>{metrics.hall_visits}</dd></div>
        <div><dt>{t('cases.handoffs')}</dt><dd>{metrics.handoffs}</dd></div>
      </dl>
      {incidents && incidents.length > 0 && (
        <>
          <h2>{t('incidents.title')}</h2>
          <IncidentList incidents={incidents} migrate={canMigrate(instance, versions)} />
        </>
      )}
      <h2>{t('cases.diagram')}</h2>
      <div className="legend">
        <span><span className="swatch sw-active" />{t('cases.legend.active')}</span>
        <span><span className="swatch sw-done" />{t('cases.legend.done')}</span>
        {where.failed.size > 0 && <span><span className="swatch sw-failed" />{t('cases.legend.failed')}</span>}
        {where.listening.size > 0 && <span><span className="swatch sw-listening" />{t('cases.legend.listening')}</span>}
        {limits && limits.length > 0 && ['running', 'warning', 'breached', 'paused', 'met'].map((s) => (
          <span key={s}><span className={`swatch sw-lim-${s}`} />⏱ {t(`limits.states.${s}`)}</span>
        ))}
      </div>
      <BpmnDiagram xml={xml} markers={markers} notes={limitLayer.notes} flows={flows} focus={focusIds}
        label={t('cases.diagram')} onElementClick={me.roles.supervisor ? setPicked : undefined} />
      {me.roles.supervisor && (
        <Repair instance={instance} texts={texts} caps={caps} steps={steps} picked={picked} versions={versions}
          active={[...where.active, ...where.failed].map(asStep)} failed={retryable(incidents, failedIds).map(asStep)}
          arrivals={joinArrivals(activities)} onDone={loaded.reload} />
      )}
      <div className="two">
        <div>
          <h2>{activities ? t('cases.waitsFor') : t('cases.openTasks')}</h2>
          {activities ? <WaitsFor activities={activities} /> : <OpenTasks tasks={instance.tasks} />}
          {limits && (
            <>
              <h2>{t('cases.timeLimits')}</h2>
              <TimeLimitList limits={limits} />
            </>
          )}
          <details>
            <summary><h2 className="inline">{t('cases.variables')}</h2></summary>
            <table className="grid" data-testid="variables">
              <tbody>
                {Object.keys(instance.variables).map((name) => (
                  <tr key={name}><th scope="row">{name}</th><td><VariableValue instance={instance} texts={texts} name={name} /></td></tr>
                ))}
              </tbody>
            </table>
          </details>
        </div>
        <div>
          <h2>{t('cases.history')}</h2>
          <History events={instance.history} stepById={stepById} fields={fields} />
        </div>
      </div>
    </section>
  );
}
